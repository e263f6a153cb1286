// What every view receives: the API client of this session, and the node's info.

import type { ApiClient, NodeInfo } from '@wholesum/api-client'

export interface ViewContext {
  readonly api: ApiClient
  readonly info: NodeInfo
  /** Called with the new token after a rotation. */
  readonly onToken: (token: string) => void
}

/** An error as one sentence for a person (the API's message, which names the field). */
export function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
