// The Electron shell: the only module (with preload.ts) that imports `electron`. It runs this
// home's node in a utility process (the same `wholesum node` as headless; a crash or a stall of
// the core cannot freeze the window), opens one window on the UI the node serves, and enforces
// the policy of security.ts. Typechecked here; the Electron binary cannot be downloaded on these
// machines, so it has not been run (docs/desktop.md says where and how it runs).

import {
  app,
  BrowserWindow,
  ipcMain,
  session,
  shell,
  utilityProcess,
  type UtilityProcess,
} from 'electron'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { ApiClient } from '@wholesum/api-client'
import { connect } from '@wholesum/api-client/node'
import {
  appOriginOf,
  externalUrl,
  navigationAllowed,
  permissionAllowed,
  senderAllowed,
  webPreferences,
} from './security.ts'

const HOME = resolve(process.env['WHOLESUM_HOME'] ?? join(homedir(), '.wholesum'))
const CLI = join(import.meta.dirname, '..', 'cli', 'main.ts')
const PRELOAD = join(import.meta.dirname, 'preload.cjs')

let core: UtilityProcess | undefined
let window: BrowserWindow | undefined

/** The running node of this home, or one started in a utility process; its API client. */
async function nodeApi(): Promise<ApiClient> {
  try {
    const api = await connect(HOME)
    await api.info()
    return api
  } catch {
    // No node on this home: start one.
  }
  const child = utilityProcess.fork(CLI, ['node'], {
    serviceName: 'wholesum-core',
    stdio: 'pipe',
    env: { ...process.env, WHOLESUM_HOME: HOME },
  })
  core = child
  // The core's logs go on to the shell's stderr: an unread pipe would fill and stall the core.
  child.stderr?.pipe(process.stderr)
  await new Promise<void>((ready, failed) => {
    let buffered = ''
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('utf8')
      if (!buffered.includes('"ready"')) return
      child.stdout?.off('data', onData)
      child.stdout?.resume()
      ready()
    }
    child.stdout?.on('data', onData)
    child.once('exit', (code) => failed(new Error(`the core exited (${code}) before it was ready`)))
  })
  return connect(HOME)
}

function lockDown(origin: string): void {
  // Every permission request (camera, notifications, …) is refused.
  session.defaultSession.setPermissionRequestHandler((_contents, permission, answer) =>
    answer(permissionAllowed(permission)),
  )
  session.defaultSession.setPermissionCheckHandler((_contents, permission) =>
    permissionAllowed(permission),
  )
  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-navigate', (event, url) => {
      if (!navigationAllowed(url, origin)) event.preventDefault()
    })
    contents.on('will-redirect', (event, url) => {
      if (!navigationAllowed(url, origin)) event.preventDefault()
    })
    contents.on('will-attach-webview', (event) => event.preventDefault())
    contents.setWindowOpenHandler(({ url }) => {
      const external = externalUrl(url)
      if (external !== undefined) void shell.openExternal(external)
      return { action: 'deny' }
    })
  })
  ipcMain.handle('open-external', (event, url: unknown) => {
    const frame = event.senderFrame
    if (!senderAllowed(frame?.url, origin, frame === event.sender.mainFrame)) return false
    const external = typeof url === 'string' ? externalUrl(url) : undefined
    if (external === undefined) return false
    void shell.openExternal(external)
    return true
  })
}

async function openWindow(): Promise<void> {
  const api = await nodeApi()
  const origin = appOriginOf(api.baseUrl)
  lockDown(origin)
  const ticket = await api.uiTicket()
  // `loadURL` is not a navigation the handlers see: the URL is checked here.
  if (!navigationAllowed(ticket.url, origin)) {
    throw new Error(`the node answered a UI URL off its own origin (${ticket.url}); not loading it`)
  }
  window = new BrowserWindow({
    width: 1280,
    height: 860,
    title: 'Wholesum',
    show: false,
    webPreferences: webPreferences(PRELOAD),
  })
  window.once('ready-to-show', () => window?.show())
  await window.loadURL(ticket.url)
}

if (!app.requestSingleInstanceLock()) {
  // A second start focuses the first window instead of starting a second node.
  app.quit()
} else {
  app.on('second-instance', () => {
    if (window?.isMinimized() === true) window.restore()
    window?.focus()
  })
  app.whenReady().then(openWindow, (err: unknown) => {
    console.error(err)
    app.exit(1)
  })
  app.on('window-all-closed', () => app.quit())
  app.on('will-quit', () => {
    // SIGTERM: the node stops its roles and its workers, as `wholesum node` does.
    core?.kill()
  })
}
