// The bridge between the page and the shell: one call (open a link in the OS browser), nothing of
// Node. The page runs with contextIsolation and sandbox on; the shell answers only its own UI.

// CommonJS, as sandboxed preloads must be; compiled to preload.cjs when the app is packaged.
const { contextBridge, ipcRenderer } = require('electron') as typeof import('electron')

const bridge = {
  shell: 'electron' as const,
  /** Opens an http(s) URL in the OS browser; false if the shell refused it. */
  openExternal: (url: string): Promise<boolean> => ipcRenderer.invoke('open-external', String(url)),
}

contextBridge.exposeInMainWorld('wholesumShell', bridge)
