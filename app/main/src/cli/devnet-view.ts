// The devnet's live view: on a terminal, a segment map redrawn in place (· open, ▒ claimed,
// █ proved) with per-prover credits; elsewhere one timestamped line per event.

import type { ClientEvent } from '../net/client-service.ts'

interface Named {
  readonly provers: readonly { readonly peerId: string; readonly name: string }[]
}

export interface DevnetView {
  line(text: string): void
  onEvent(event: ClientEvent, net: Named): void
  stop(): void
}

const GLYPH = { open: '·', claimed: '▒', proved: '█' } as const

export function devnetView(stream: NodeJS.WritableStream, plain: boolean): DevnetView {
  const started = Date.now()
  let cells: ('open' | 'claimed' | 'proved')[] = []
  let phase = 'starting'
  const credits = new Map<string, number>()
  let drawn = false
  const stamp = (): string => `${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s`
  const name = (net: Named, peer: string): string =>
    net.provers.find((p) => p.peerId === peer)?.name ?? peer.slice(-8)

  const draw = (): void => {
    if (plain) return
    const map = cells.map((c) => GLYPH[c]).join('')
    const proved = cells.filter((c) => c === 'proved').length
    const who = [...credits].map(([p, n]) => `${p}:${n}`).join(' ')
    stream.write(
      `\r\x1b[2K${stamp()} ${phase.padEnd(10)} [${map}] ${proved}/${cells.length}  ${who}`,
    )
    drawn = true
  }
  const say = (text: string): void => {
    if (!plain && drawn) stream.write('\r\x1b[2K')
    stream.write(`${stamp()} ${text}\n`)
    draw()
  }

  return {
    line: say,
    onEvent(event, net) {
      switch (event.type) {
        case 'executed':
          cells = Array.from({ length: event.segments }, () => 'open' as const)
          say(
            `executed: ${event.segments} segments, ${event.cycles} cycles; job ${event.jobId.slice(0, 16)}…`,
          )
          break
        case 'stored':
          say(`segments stored; manifest ${event.manifestCid}`)
          break
        case 'phase':
          phase = event.phase
          say(`phase ${event.phase}${event.reason !== undefined ? `: ${event.reason}` : ''}`)
          break
        case 'evidence': {
          const e = event.evidence
          const what =
            e.status === 'verified'
              ? `verified (a po2 ${e.po2} segment receipt)`
              : e.status === 'absent'
                ? 'none yet (its Hz does not count)'
                : `${e.status}: ${e.reason}`
          say(`offer from ${name(net, event.prover)}: benchmark evidence ${what}`)
          break
        }
        case 'deal':
          say(`deal with ${name(net, event.prover)}`)
          break
        case 'notice':
          say(event.message)
          break
        case 'join-claim':
          if (plain) say(`join ${event.round}/${event.index} claimed by ${name(net, event.prover)}`)
          break
        case 'join-credit':
          say(`join ${event.round}/${event.index} by ${name(net, event.prover)}, receipt verified`)
          break
        case 'join-strike':
          say(
            `join ${event.round}/${event.index} from ${name(net, event.prover)} REJECTED: ${event.reason}`,
          )
          break
        case 'claim':
          if (cells[event.index] !== 'proved') cells[event.index] = 'claimed'
          if (plain) say(`segment ${event.index} claimed by ${name(net, event.prover)}`)
          else draw()
          break
        case 'credit': {
          cells[event.index] = 'proved'
          const who = name(net, event.prover)
          credits.set(who, (credits.get(who) ?? 0) + 1)
          say(`segment ${event.index} proved by ${who}, receipt verified`)
          break
        }
        case 'strike':
          say(`segment ${event.index} from ${name(net, event.prover)} REJECTED: ${event.reason}`)
          break
        case 'reopen':
          if (cells[event.index] !== 'proved') cells[event.index] = 'open'
          say(`segment ${event.index} re-opened (${event.reason})`)
          break
      }
    },
    stop() {
      if (!plain && drawn) stream.write('\n')
      drawn = false
    },
  }
}
