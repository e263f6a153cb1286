// A hash router: the page's views by URL fragment, so the node serves one file for all of them
// and a reload keeps the view.

export const VIEWS = ['jobs', 'submit', 'receipts', 'plugins', 'network', 'settings'] as const
export type View = (typeof VIEWS)[number]

export interface Route {
  readonly view: View | 'job'
  readonly jobId?: string
}

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#\/?/, '').split(/[?&]/)[0] ?? ''
  const [first, second] = path.split('/')
  if (first === 'jobs' && second !== undefined && /^[0-9a-f]{64}$/.test(second)) {
    return { view: 'job', jobId: second }
  }
  return { view: (VIEWS as readonly string[]).includes(first ?? '') ? (first as View) : 'jobs' }
}

class Router {
  route = $state<Route>(parseRoute(location.hash))

  constructor() {
    addEventListener('hashchange', () => {
      this.route = parseRoute(location.hash)
    })
  }

  go(hash: string): void {
    location.hash = hash
  }
}

export const router = new Router()
