// The shell's security policy, as plain functions of URLs and origins so that they are tested
// without Electron: what the window's page may navigate to, which links go to the OS browser,
// which frames may call the bridge, and the window's web preferences. Each rule answers an item of
// Electron's security checklist (docs/desktop.md lists them one by one).

/** The BrowserWindow web preferences: the page gets no Node, no remote code, nothing extra. */
export function webPreferences(preload: string) {
  return {
    preload,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    experimentalFeatures: false,
    enableBlinkFeatures: '',
    webviewTag: false,
    navigateOnDragDrop: false,
    spellcheck: false,
  } as const
}

/** The window shows only the node's own UI: any other navigation is refused. */
export function navigationAllowed(target: string, appOrigin: string): boolean {
  try {
    return new URL(target).origin === appOrigin
  } catch {
    return false
  }
}

/** A link the page opens elsewhere: http(s) only, handed to the OS browser; anything else dropped. */
export function externalUrl(target: string): string | undefined {
  try {
    const url = new URL(target)
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : undefined
  } catch {
    return undefined
  }
}

/** Only the node's UI, in the top frame, may call the shell over IPC. */
export function senderAllowed(
  frameUrl: string | undefined,
  appOrigin: string,
  isTopFrame: boolean,
): boolean {
  return isTopFrame && frameUrl !== undefined && navigationAllowed(frameUrl, appOrigin)
}

/** Permissions the page may be granted (camera, geolocation, notifications, …): none. */
export function permissionAllowed(_permission: string): boolean {
  return false
}

/** The node's API origin from its URL (`http://127.0.0.1:<port>`); only loopback is accepted. */
export function appOriginOf(apiUrl: string): string {
  const url = new URL(apiUrl)
  if (url.protocol !== 'http:' || !['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) {
    throw new Error(`the node's API must be on loopback over http, not ${apiUrl}`)
  }
  return url.origin
}
