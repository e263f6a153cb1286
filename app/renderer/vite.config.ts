// The renderer's build: Svelte 5 through Vite, one static bundle the node serves in browser mode
// and the Electron shell loads from disk. Relative asset paths so both can load it.

import { defineConfig } from 'vite'
import { svelte } from '@sveltejs/vite-plugin-svelte'

export default defineConfig({
  root: import.meta.dirname,
  base: './',
  plugins: [svelte()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2023',
    // One file per kind is easier to pin in a CSP and to check in the bundle-size benchmark.
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
})
