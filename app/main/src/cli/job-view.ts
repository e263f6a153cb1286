// A network job's live view, from the events the daemon streams: on a terminal, one line redrawn
// in place (elapsed, stage, a segment map · open ▒ claimed █ proved, or a bar when the map would
// not fit, and per-prover credits); elsewhere one timestamped line per event.

import type { JobEvent } from '@wholesum/api-client'

export interface JobView {
  line(text: string): void
  onEvent(event: JobEvent): void
  stop(): void
}

export interface JobViewOptions {
  /** One line per event, nothing redrawn (not a terminal, or --json). */
  readonly plain: boolean
  /** A readable name for a prover's peer ID (the devnet knows its provers). */
  readonly name?: (peer: string) => string
  /** Terminal width; the segment map becomes a bar beyond it. */
  readonly columns?: number
}

type Cell = 'open' | 'claimed' | 'proved'
const GLYPH: Record<Cell, string> = { open: '·', claimed: '▒', proved: '█' }

/** What the events carry, read defensively: the view must never throw on an event it does not know. */
interface EventData {
  readonly segments?: number
  readonly cycles?: number
  readonly manifestCid?: string
  readonly phase?: string
  readonly reason?: string
  readonly prover?: string
  readonly index?: number
  readonly round?: number
  readonly message?: string
  readonly status?: string
  readonly evidence?: { status?: string; po2?: number; reason?: string }
}

export function jobView(stream: NodeJS.WritableStream, options: JobViewOptions): JobView {
  const { plain } = options
  const started = Date.now()
  let cells: Cell[] = []
  let phase = 'starting'
  const credits = new Map<string, number>()
  let drawn = false
  const stamp = (): string => `${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s`
  const name = (peer: string | undefined): string =>
    peer === undefined ? '?' : (options.name?.(peer) ?? peer.slice(-8))

  const map = (): string => {
    const width = Math.max(20, (options.columns ?? 100) - 60)
    if (cells.length <= width) return cells.map((c) => GLYPH[c]).join('')
    // Too many segments for one line: a bar of proved, then claimed, then open.
    const proved = cells.filter((c) => c === 'proved').length
    const claimed = cells.filter((c) => c === 'claimed').length
    const p = Math.floor((proved / cells.length) * width)
    const c = Math.min(width - p, Math.ceil((claimed / cells.length) * width))
    return GLYPH.proved.repeat(p) + GLYPH.claimed.repeat(c) + GLYPH.open.repeat(width - p - c)
  }
  const draw = (): void => {
    if (plain) return
    const proved = cells.filter((c) => c === 'proved').length
    const who = [...credits].map(([p, n]) => `${p}:${n}`).join(' ')
    stream.write(
      `\r\x1b[2K${stamp()} ${phase.padEnd(10)} [${map()}] ${proved}/${cells.length}  ${who}`,
    )
    drawn = true
  }
  const say = (text: string): void => {
    if (!plain && drawn) stream.write('\r\x1b[2K')
    stream.write(`${stamp()} ${text}\n`)
    draw()
  }
  const set = (index: number | undefined, cell: Cell): void => {
    if (index === undefined || index < 0 || index >= cells.length) return
    if (cell !== 'proved' && cells[index] === 'proved') return
    cells[index] = cell
  }

  return {
    line: say,
    onEvent(event) {
      const d = (event.data ?? {}) as EventData
      switch (event.type) {
        case 'executed':
          cells = Array.from({ length: d.segments ?? 0 }, () => 'open' as const)
          say(
            `executed: ${d.segments} segments, ${d.cycles} cycles; job ${event.jobId.slice(0, 16)}…`,
          )
          break
        case 'stored':
          say(`segments stored; manifest ${d.manifestCid}`)
          break
        case 'resumed':
          say('the node restarted and resumed this job')
          break
        case 'phase':
          phase = d.phase ?? phase
          say(`stage ${d.phase}${d.reason !== undefined ? `: ${d.reason}` : ''}`)
          break
        case 'evidence': {
          const e = d.evidence ?? {}
          const what =
            e.status === 'verified'
              ? `verified (a po2 ${e.po2} segment receipt)`
              : e.status === 'absent'
                ? 'none yet (its Hz does not count)'
                : `${e.status}: ${e.reason}`
          say(`offer from ${name(d.prover)}: benchmark evidence ${what}`)
          break
        }
        case 'deal':
          say(`deal with ${name(d.prover)}`)
          break
        case 'notice':
          say(d.message ?? '')
          break
        case 'join-claim':
          if (plain) say(`join ${d.round}/${d.index} claimed by ${name(d.prover)}`)
          break
        case 'join-credit':
          say(`join ${d.round}/${d.index} by ${name(d.prover)}, receipt verified`)
          break
        case 'join-strike':
          say(`join ${d.round}/${d.index} from ${name(d.prover)} REJECTED: ${d.reason}`)
          break
        case 'claim':
          set(d.index, 'claimed')
          if (plain) say(`segment ${d.index} claimed by ${name(d.prover)}`)
          else draw()
          break
        case 'credit': {
          set(d.index, 'proved')
          const who = name(d.prover)
          credits.set(who, (credits.get(who) ?? 0) + 1)
          say(`segment ${d.index} proved by ${who}, receipt verified`)
          break
        }
        case 'strike':
          say(`segment ${d.index} from ${name(d.prover)} REJECTED: ${d.reason}`)
          break
        case 'reopen':
          set(d.index, 'open')
          say(`segment ${d.index} re-opened (${d.reason})`)
          break
        case 'finished':
          phase = d.status ?? phase
          say(`finished: ${d.status}${d.reason !== undefined ? ` (${d.reason})` : ''}`)
          break
      }
    },
    stop() {
      if (!plain && drawn) stream.write('\n')
      drawn = false
    },
  }
}
