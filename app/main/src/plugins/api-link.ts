// Makes `@wholesum/plugin-api` resolve to the host's own copy for plugins installed anywhere.
//
// A user plugin lives in the user's plugins folder with no node_modules of its own, and even one
// that ships a copy must share the host's: the guard recognises WholesumError subclasses by
// `instanceof`, which only holds across one copy of the classes.

import { registerHooks } from 'node:module'

export const PLUGIN_API_SPECIFIER = '@wholesum/plugin-api'

let linked = false

/** Registers the resolve hook once per process; later calls do nothing. */
export function linkPluginApi(): void {
  if (linked) return
  const url = import.meta.resolve(PLUGIN_API_SPECIFIER)
  registerHooks({
    resolve(specifier, context, nextResolve) {
      if (specifier === PLUGIN_API_SPECIFIER) return { url, shortCircuit: true }
      return nextResolve(specifier, context)
    },
  })
  linked = true
}
