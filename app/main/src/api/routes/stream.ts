// One WebSocket client following one job: the backlog from the store after `after`, then live
// events from the hub, without a gap or a duplicate (IDs only grow), then an end frame. A client
// that does not keep up is dropped (close 4008) rather than slowing the node; it reconnects
// with the last ID it saw.

import type { WebSocket } from 'ws'
import { TERMINAL_STATUSES, type JobEvent, type StreamFrame } from '@wholesum/api-client'
import type { ApiContext } from '../context.ts'
import { jobEvent } from '../views.ts'

/** Bytes the socket may have unsent before its client counts as too slow. */
export const STREAM_BUFFER_BYTES = 1 << 20
export const DEFAULT_STREAM_QUEUE = 10_000
export const CLOSE_TOO_SLOW = 4008

export function streamEvents(
  ctx: ApiContext,
  socket: WebSocket,
  jobId: string,
  after: number,
): void {
  const queueLimit = ctx.streamQueueLimit ?? DEFAULT_STREAM_QUEUE
  let last = after
  let live = false
  let done = false
  const waiting: JobEvent[] = []

  const finish = (frame: StreamFrame | undefined, code: number, reason: string): void => {
    if (done) return
    done = true
    unsubscribe()
    if (frame !== undefined && socket.readyState === socket.OPEN) socket.send(JSON.stringify(frame))
    socket.close(code, reason)
  }

  const send = (event: JobEvent): void => {
    if (done || event.id <= last) return
    if (socket.bufferedAmount > STREAM_BUFFER_BYTES) {
      finish(undefined, CLOSE_TOO_SLOW, `too slow: reconnect with after=${last}`)
      return
    }
    socket.send(JSON.stringify({ type: 'event', event } satisfies StreamFrame))
    last = event.id
    if (event.type === 'finished') {
      const status = (event.data as { status?: string } | null)?.status
      finish({ type: 'end', status: (status ?? 'done') as 'done' }, 1000, 'job finished')
    }
  }

  const unsubscribe = ctx.events.subscribe(jobId, (event) => {
    if (live) send(event)
    else if (waiting.length >= queueLimit)
      finish(undefined, CLOSE_TOO_SLOW, `too slow: reconnect with after=${last}`)
    else waiting.push(event)
  })
  socket.on('close', () => {
    done = true
    unsubscribe()
  })

  // The backlog, a page at a time; events arriving meanwhile wait in `waiting`.
  for (;;) {
    if (done) return
    const page = ctx.store.events(jobId, { afterId: last, limit: 500 })
    for (const record of page) send(jobEvent(record))
    if (page.length < 500) break
  }
  for (const event of waiting.splice(0)) send(event)
  live = true
  if (done) return
  const job = ctx.store.getJob(jobId)
  // A job that ended without a `finished` event (cancelled while this node was down) ends here.
  if (
    job !== undefined &&
    TERMINAL_STATUSES.includes(job.status) &&
    !busyFinishing(ctx, job.jobId)
  ) {
    finish({ type: 'end', status: job.status }, 1000, 'job finished')
  }
}

/** A done job whose outputs are still being stored will send `finished` soon. */
function busyFinishing(ctx: ApiContext, jobId: string): boolean {
  const job = ctx.store.getJob(jobId)
  return job?.status === 'done' && job.role === 'client' && job.receiptCid === undefined
}
