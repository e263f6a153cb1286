// Benchmark: the pipeline's state machines in the simulator, PROVE then JOIN, at the seed's scale.
//
// usage: node bench/pipeline-sim.ts [--segments 1204] [--provers 10,100,500] [--segment-ms 30000]
//        [--join-ms 10000] [--seed 1]
// Each run drives the real ClientJob, ClientJoin and ProverAgent with virtual provers (speeds
// spread ±25 % around the given times) and reports, against the ideal, the virtual completion
// time and the work thrown away, with the endgame rule on and off. Baseline ("ideal"):
// segments × segmentMs / provers for PROVE, plus the joins done round by round with every prover
// busy, Σ ceil(pairs in round r / provers) × joinMs, both at the mean speeds.

import { cpus } from 'node:os'
import { parseArgs } from 'node:util'
import type { ClientJobConfig } from '../app/main/src/pipeline/client-job.ts'
import {
  seededRandom,
  simulate,
  type SimulationResult,
  type VirtualProver,
} from '../app/main/src/pipeline/simulator.ts'

const { values } = parseArgs({
  options: {
    segments: { type: 'string', default: '1204' },
    provers: { type: 'string', default: '10,100,500' },
    'segment-ms': { type: 'string', default: '30000' },
    'join-ms': { type: 'string', default: '10000' },
    seed: { type: 'string', default: '1' },
  },
})
const segments = Number(values.segments)
const proverCounts = values.provers.split(',').map(Number)
const segmentMs = Number(values['segment-ms'])
const joinMs = Number(values['join-ms'])
const seed = Number(values.seed)

const NETWORK = {
  latencyMs: 50,
  latencyJitterMs: 50,
  tickMs: 250,
  bitfieldIntervalMs: 2_000,
  claimTtlMs: 60_000,
}

type Scenario = 'honest' | 'churn'
const SCENARIOS: Record<Scenario, string> = {
  honest: 'every prover honest and staying',
  churn: '2 % of provers vanish during PROVE, 1 % lie (at least one of each)',
}
const ENDGAME: readonly { label: string; prove: boolean; join: boolean }[] = [
  { label: 'on/on', prove: true, join: true },
  { label: 'off/off', prove: false, join: false },
  { label: 'on/off', prove: true, join: false },
]

/** Pairs per round of the join tree over n receipts. */
function pairsPerRound(n: number): number[] {
  const pairs: number[] = []
  for (let size = n; size > 1; size = Math.ceil(size / 2)) pairs.push(Math.floor(size / 2))
  return pairs
}

function idealMs(provers: number): { prove: number; join: number } {
  const join = pairsPerRound(segments).reduce((ms, p) => ms + Math.ceil(p / provers) * joinMs, 0)
  return { prove: (segments * segmentMs) / provers, join }
}

function fleet(n: number, scenario: Scenario): VirtualProver[] {
  const random = seededRandom(seed * 7919 + n)
  const spread = (ms: number) => Math.round(ms * (0.75 + 0.5 * random()))
  const vanishing = scenario === 'churn' ? Math.max(1, Math.round(n * 0.02)) : 0
  const liars = scenario === 'churn' ? Math.max(1, Math.round(n * 0.01)) : 0
  const provePhase = idealMs(n).prove
  return Array.from({ length: n }, (_, i): VirtualProver => {
    const base = { id: `p${i}`, segmentMs: spread(segmentMs), joinMs: spread(joinMs) }
    if (i < vanishing) {
      return { ...base, behaviour: 'vanishes', vanishAt: Math.round(random() * provePhase * 0.9) }
    }
    if (i < vanishing + liars) return { ...base, behaviour: 'liar' }
    return { ...base, behaviour: 'honest' }
  })
}

function run(
  n: number,
  scenario: Scenario,
  endgame: (typeof ENDGAME)[number],
): { result: SimulationResult; wallMs: number } {
  const ideal = idealMs(n)
  const deadline = 10 * (ideal.prove + ideal.join) + 3_600_000
  const job: ClientJobConfig = {
    need: {
      jobId: 'bench',
      segments,
      po2: 21,
      rewardPerSegment: 100n,
      deadline,
      requirements: { minMemoryMiB: 1024, proverKind: 'risc0', recursion: true },
    },
    policy: { maxProvers: n },
    offerWindowMs: 1_500,
    needIntervalMs: 3_000,
    bitfieldIntervalMs: NETWORK.bitfieldIntervalMs,
    claimTtlMs: NETWORK.claimTtlMs,
    maxStrikes: 2,
    endgame: endgame.prove,
  }
  const started = performance.now()
  const result = simulate({
    job,
    provers: fleet(n, scenario),
    latencyMs: NETWORK.latencyMs,
    latencyJitterMs: NETWORK.latencyJitterMs,
    tickMs: NETWORK.tickMs,
    seed,
    maxVirtualMs: deadline,
    recursion: true,
    joinEndgame: endgame.join,
  })
  return { result, wallMs: performance.now() - started }
}

const s = (ms: number) => (ms / 1000).toFixed(0)
const x = (ratio: number) => `${ratio.toFixed(2)}x`
const pct = (part: number, whole: number) => `${((100 * part) / whole).toFixed(1)}%`
const pad = (cells: readonly string[], widths: readonly number[]) =>
  cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' ')

console.log(
  `pipeline-sim: ${segments} segments, segment ${segmentMs / 1000} s and join ${joinMs / 1000} s ±25 %, ` +
    `latency ${NETWORK.latencyMs}+${NETWORK.latencyJitterMs} ms, bit field ${NETWORK.bitfieldIntervalMs / 1000} s, ` +
    `claim TTL ${NETWORK.claimTtlMs / 1000} s, seed ${seed}, ${cpus().length} cores`,
)
for (const scenario of Object.keys(SCENARIOS) as Scenario[]) {
  console.log(`\n${scenario}: ${SCENARIOS[scenario]}; endgame = PROVE/JOIN rule`)
  const widths = [7, 8, 8, 8, 7, 7, 7, 7, 7, 7, 7, 7, 6]
  console.log(
    pad(
      [
        'provers',
        'endgame',
        'result',
        'total_s',
        'ideal_s',
        'ratio',
        'prove_s',
        'ratio',
        'wasted',
        'join_s',
        'ratio',
        'wasted',
        'wall_ms',
      ],
      widths,
    ),
  )
  for (const n of proverCounts) {
    const ideal = idealMs(n)
    for (const endgame of ENDGAME) {
      const { result, wallMs } = run(n, scenario, endgame)
      const proveEnd = result.prove.finishedAt ?? result.virtualMs
      const join = result.join
      const joinS = join?.finishedAt !== undefined ? join.finishedAt - join.startedAt : NaN
      console.log(
        pad(
          [
            String(n),
            endgame.label,
            result.phase,
            s(result.virtualMs),
            s(ideal.prove + ideal.join),
            x(result.virtualMs / (ideal.prove + ideal.join)),
            s(proveEnd),
            x(proveEnd / ideal.prove),
            pct(result.prove.wasted, segments),
            s(joinS),
            x(joinS / ideal.join),
            pct(join?.wasted ?? 0, segments - 1),
            wallMs.toFixed(0),
          ],
          widths,
        ),
      )
    }
  }
}
console.log(
  '\nwasted: deliveries thrown away (duplicates, late arrivals, rejected lies) per unit of work ' +
    'needed (segments for PROVE, n − 1 joins for JOIN). The simulated provers do not renew ' +
    'claims, so an endgame racer always finishes its copy: an upper bound on the waste.',
)
