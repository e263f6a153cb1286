// Live job events for API streams: the store's event log is the record (and the backlog a
// reconnecting client reads); this hub only wakes the streams that follow a job.

import type { JobEvent } from '@wholesum/api-client'

export type EventListener = (event: JobEvent) => void

export class EventHub {
  private readonly listeners = new Map<string, Set<EventListener>>()

  publish(event: JobEvent): void {
    for (const listener of this.listeners.get(event.jobId) ?? []) listener(event)
  }

  /** Returns the unsubscribe function. */
  subscribe(jobId: string, listener: EventListener): () => void {
    let set = this.listeners.get(jobId)
    if (set === undefined) this.listeners.set(jobId, (set = new Set()))
    set.add(listener)
    return () => {
      set.delete(listener)
      if (set.size === 0) this.listeners.delete(jobId)
    }
  }

  subscribers(jobId: string): number {
    return this.listeners.get(jobId)?.size ?? 0
  }
}
