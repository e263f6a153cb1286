// Renders a local proving job: one progress bar per segment on a terminal, plain lines elsewhere.

import cliProgress from 'cli-progress'
import type { LocalProveEvent } from '../jobs/local-prove.ts'

export interface ProgressView {
  onEvent(event: LocalProveEvent): void
  stop(): void
}

const formatKhz = (cycles: number, ms: number): string => (ms > 0 ? (cycles / ms).toFixed(1) : '-')

/** Lines for logs and CI: one per state change, nothing redrawn. */
export function plainProgress(write: (line: string) => void): ProgressView {
  return {
    onEvent(event) {
      switch (event.type) {
        case 'started':
          write(`job ${event.jobId.slice(0, 16)}… image ${event.imageId} po2 ${event.po2}`)
          break
        case 'segment-executed':
          write(
            `  executed segment ${event.segment.index} (po2 ${event.segment.po2}, ${event.segment.bytes} B)`,
          )
          break
        case 'executed': {
          const e = event.execution
          write(
            `executed: ${e.segments.length} segments, ${e.userCycles} user / ${e.totalCycles} total cycles, exit ${e.exitCode.kind}(${e.exitCode.code}), ${e.executeMs} ms`,
          )
          break
        }
        case 'segment-proving':
          write(`  proving segment ${event.index + 1}/${event.total}…`)
          break
        case 'segment-proved':
          write(
            `  proved segment ${event.result.index + 1}/${event.total} in ${(event.result.proveMs / 1000).toFixed(1)} s, claim ${event.result.claimDigest.slice(0, 16)}…`,
          )
          break
        case 'assembled':
          write(`assembled ${event.kind} receipt (${event.bytes} B)`)
          break
        case 'verified':
          write(
            `verified ${event.verification.kind} receipt: ${event.verification.segments} segments, journal ${event.verification.journal.length} B, ${event.verification.verifyMs} ms`,
          )
          break
      }
    },
    stop() {},
  }
}

/**
 * A bar per segment. risc0 reports nothing inside a segment proof, so a running bar advances on
 * the time the previous segments took (capped below 100%) and jumps to 100% when proved.
 */
export function ttyProgress(stream: NodeJS.WriteStream): ProgressView {
  const multibar = new cliProgress.MultiBar(
    {
      stream,
      clearOnComplete: false,
      hideCursor: true,
      format: ' {label} |{bar}| {percentage}% {status}',
      barsize: 30,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  )
  const bars = new Map<number, cliProgress.SingleBar>()
  const log = (line: string): void => multibar.log(`${line}\n`)
  let running: { index: number; since: number } | undefined
  let averageMs: number | undefined
  let provedMs = 0
  let proved = 0
  let cycles = 0

  const tick = setInterval(() => {
    if (running === undefined || averageMs === undefined) return
    const fraction = Math.min(0.95, (performance.now() - running.since) / averageMs)
    bars.get(running.index)?.update(Math.round(fraction * 100))
  }, 500)
  tick.unref()

  return {
    onEvent(event) {
      switch (event.type) {
        case 'started':
          log(`job ${event.jobId.slice(0, 16)}…  image ${event.imageId}  po2 ${event.po2}`)
          break
        case 'segment-executed':
          bars.set(
            event.segment.index,
            multibar.create(100, 0, {
              label: `segment ${String(event.segment.index).padStart(4)}`,
              status: 'executed',
            }),
          )
          break
        case 'executed': {
          const e = event.execution
          cycles = e.totalCycles
          log(
            `executed ${e.segments.length} segments, ${e.totalCycles} cycles in ${e.executeMs} ms (exit ${e.exitCode.kind} ${e.exitCode.code})`,
          )
          break
        }
        case 'segment-proving':
          running = { index: event.index, since: performance.now() }
          bars.get(event.index)?.update(0, { status: 'proving' })
          break
        case 'segment-proved': {
          proved++
          provedMs += event.result.proveMs
          averageMs = provedMs / proved
          running = undefined
          bars
            .get(event.result.index)
            ?.update(100, { status: `proved in ${(event.result.proveMs / 1000).toFixed(1)} s` })
          break
        }
        case 'assembled':
          log(
            `assembled ${event.kind} receipt (${event.bytes} B); ${formatKhz(cycles, provedMs)} kHz proving`,
          )
          break
        case 'verified':
          log(
            `verified: ${event.verification.kind} receipt, ${event.verification.segments} segments`,
          )
          break
      }
    },
    stop() {
      clearInterval(tick)
      multibar.stop()
    },
  }
}
