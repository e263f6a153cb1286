// Benchmark: what one segment-map update costs in Chromium at the seed job's 1,204 segments and
// at 5,000, against redrawing the whole map (the baseline, in the same page): the map's own
// model and canvas code, bundled from app/renderer/src/lib by Vite, driven by a stream of
// claim and credit events as a busy job sends them. Also the size of the built UI bundle.
//
// usage: node bench/ui-segment-map.ts [--updates 2000] [--json out.json]
// Needs Debian's chromium (setup installs it) and a built UI (npm run build:ui) for the size.

import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { writeFile } from 'node:fs/promises'
import { build } from 'vite'
import { chromium } from 'playwright-core'
import { REPO_ROOT } from '../app/main/src/core.ts'

const { values } = parseArgs({
  options: { updates: { type: 'string', default: '2000' }, json: { type: 'string' } },
})
const updates = Number(values.updates)
const work = await mkdtemp(join(tmpdir(), 'wholesum-bench-ui-'))
const lib = join(REPO_ROOT, 'app', 'renderer', 'src', 'lib')

try {
  const entry = join(work, 'entry.ts')
  await writeFile(
    entry,
    `export { JobModel } from ${JSON.stringify(join(lib, 'job-model.ts'))}\n` +
      `export { SegmentCanvas } from ${JSON.stringify(join(lib, 'segment-canvas.ts'))}\n`,
  )
  await build({
    configFile: false,
    logLevel: 'warn',
    build: {
      outDir: join(work, 'out'),
      lib: { entry, formats: ['es'], fileName: 'map' },
      minify: true,
      emptyOutDir: true,
    },
  })
  const code = await readFile(join(work, 'out', 'map.js'), 'utf8')
  const browser = await chromium.launch({
    executablePath: process.env['WHOLESUM_CHROMIUM'] ?? '/usr/bin/chromium',
    args: ['--no-sandbox'],
  })
  const rows: Record<string, unknown>[] = []
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    await page.setContent(
      '<style>:root{--surface:#fff;--cell-open:#d5d9e0;--cell-claimed:#c77700;--cell-proved:#1e8e3e;--cell-struck:#c5221f}</style><canvas id="map"></canvas>',
    )
    await page.addScriptTag({
      content: code.replace(/^export\s*\{[^}]*\};?\s*$/m, '') + exportsOf(code),
      type: 'module',
    })
    await page.waitForFunction('"wholesumMap" in window')
    console.log(`ui-segment-map: Chromium ${browser.version()}, ${updates} updates per size`)
    for (const segments of [1204, 5000]) {
      const result = await page.evaluate(
        ({ segments, updates }) => {
          // This runs in the page; the bench is typechecked without DOM types, hence `any`.
          const page = globalThis as any
          const { JobModel, SegmentCanvas } = page.wholesumMap
          const canvas = page.document.getElementById('map')
          const model = new JobModel(segments)
          const painter = new SegmentCanvas(canvas)
          painter.reset(model, 1200)
          // Baseline: the whole map redrawn, as a naive renderer would on every event.
          const fullRuns = 20
          let started = performance.now()
          for (let i = 0; i < fullRuns; i++) painter.reset(model, 1200)
          const fullMs = (performance.now() - started) / fullRuns
          // What the page does per event: the model applies it, the canvas repaints its cell.
          let id = 1
          started = performance.now()
          for (let i = 0; i < updates; i++) {
            const index = (i * 7919) % segments
            const type = i % 2 === 0 ? 'claim' : 'credit'
            const change = model.apply({
              id: id++,
              jobId: 'x',
              at: i,
              type,
              data: { prover: `P${i % 16}`, index },
            })
            painter.update(model, change.cells)
          }
          const updateMs = (performance.now() - started) / updates
          return { fullMs, updateMs }
        },
        { segments, updates },
      )
      const ratio = result.fullMs / result.updateMs
      console.log(
        `${String(segments).padStart(5)} segments  update ${result.updateMs.toFixed(4)} ms  full redraw ${result.fullMs.toFixed(2)} ms  (an update costs 1/${ratio.toFixed(0)} of a redraw)`,
      )
      rows.push({ segments, ...result, ratio })
    }
  } finally {
    await browser.close()
  }
  const dist = join(REPO_ROOT, 'app', 'renderer', 'dist', 'assets')
  const sizes = await readdir(dist).then(
    async (names) =>
      Object.fromEntries(
        await Promise.all(names.map(async (n) => [n, (await stat(join(dist, n))).size])),
      ),
    () => undefined,
  )
  if (sizes === undefined) console.log('bundle: not built (npm run build:ui)')
  else {
    const total = Object.values(sizes as Record<string, number>).reduce((a, b) => a + b, 0)
    console.log(
      `bundle: ${Object.entries(sizes)
        .map(([n, s]) => `${n} ${(Number(s) / 1024).toFixed(1)} KiB`)
        .join(
          ', ',
        )}; total ${(total / 1024).toFixed(1)} KiB, the WebAssembly verifier and its worker included`,
    )
    rows.push({ bundle: sizes, totalBytes: total })
  }
  if (values.json !== undefined) await writeFile(values.json, JSON.stringify(rows, null, 2))
} finally {
  await rm(work, { recursive: true, force: true })
}

/** The bundle's exports, put on window so the page's evaluate can reach them. */
function exportsOf(bundle: string): string {
  const match = /export\s*\{([^}]*)\}/.exec(bundle)
  if (match === null) throw new Error('the bundle has no export list')
  const pairs = match[1]!.split(',').map((p) => p.trim().split(/\s+as\s+/))
  const fields = pairs.map(([local, exported]) => `${exported ?? local}: ${local}`).join(', ')
  return `\nwindow.wholesumMap = { ${fields} }\n`
}
