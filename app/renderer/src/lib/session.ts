// How the page gets its API client: a ticket in the URL fragment (from `wholesum ui`) is traded
// once for the token, which then lives in sessionStorage (gone with the tab). The page talks to
// the node that served it: same origin, so the node's Origin check lets it through.

import { ApiClient } from '@wholesum/api-client'

const TOKEN_KEY = 'wholesum.token'

export interface Session {
  readonly api: ApiClient
  readonly token: string
}

/** The ticket in `#ticket=…` (alone or after a route), if any. */
export function ticketIn(hash: string): string | undefined {
  const match = /(?:^#|[#&?])ticket=([0-9a-f]{64})(?:&|$)/.exec(hash)
  return match?.[1]
}

export async function openSession(
  location: Location,
  storage: Storage,
): Promise<Session | undefined> {
  const baseUrl = location.origin
  const ticket = ticketIn(location.hash)
  if (ticket !== undefined) {
    // Out of the address bar and the history at once, spent or not.
    history.replaceState(null, '', `${location.pathname}#/jobs`)
    const token = await ApiClient.redeemTicket(baseUrl, ticket)
    storage.setItem(TOKEN_KEY, token)
    return { api: new ApiClient({ baseUrl, token }), token }
  }
  const token = storage.getItem(TOKEN_KEY)
  if (token === null || !/^[0-9a-f]{64}$/.test(token)) return undefined
  return { api: new ApiClient({ baseUrl, token }), token }
}

/** After a rotation (or a paste), the page keeps the new token. */
export function keepToken(storage: Storage, token: string): Session {
  storage.setItem(TOKEN_KEY, token)
  return { api: new ApiClient({ baseUrl: location.origin, token }), token }
}

export function forgetToken(storage: Storage): void {
  storage.removeItem(TOKEN_KEY)
}
