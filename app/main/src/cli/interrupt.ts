// Ctrl-C and SIGTERM as an AbortSignal for the length of one command, so what it waits on (a
// worker, a stream) stops instead of being orphaned.

export interface Interrupt {
  readonly signal: AbortSignal
  /** Stops listening for the signals. */
  done(): void
}

export function onInterrupt(): Interrupt {
  const abort = new AbortController()
  const onSignal = (): void => abort.abort()
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  return {
    signal: abort.signal,
    done() {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    },
  }
}
