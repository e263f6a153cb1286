// The desktop UI end to end, in browser mode: Debian's Chromium (driven by playwright-core)
// opens the one-time URL of a client daemon on a loopback devnet of daemons (bootstrap, one
// prover, client; real libp2p, real risc0 proofs), and a user's session is played through it:
// bad drops refused, the hashchain sample dropped and proved while the segment map fills, the
// receipt verified by the node, the journal downloaded and compared, a plugin installed,
// disabled, enabled and uninstalled. Every view is screenshotted in both themes and checked
// with axe-core. Screenshots go to out/ui-screenshots/.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import * as tar from 'tar'
import { REPO_ROOT } from '../../main/src/core.ts'
import { DaemonDevnet } from '../../main/src/devnet/daemon-devnet.ts'

const CHROMIUM = process.env['WHOLESUM_CHROMIUM'] ?? '/usr/bin/chromium'
const DIST = join(REPO_ROOT, 'app', 'renderer', 'dist', 'index.html')
const SHOTS = join(REPO_ROOT, 'out', 'ui-screenshots')
const guests = join(REPO_ROOT, 'plugins', 'prover-risc0', 'guests')
const HASHCHAIN = join(guests, 'dist', 'hashchain.bin')
const HELLO = join(guests, 'dist', 'hello.bin')
const HASHCHAIN_INPUT = join(guests, 'samples', 'hashchain-small.input')
const EXAMPLE = join(REPO_ROOT, 'examples', 'plugin-example')
const EXAMPLE_NAME = 'example-memory-storage'

let dir: string
let net: DaemonDevnet
let browser: Browser
let page: Page
let url: string
/** Console errors and uncaught exceptions of the page (a CSP violation lands here). */
const pageErrors: string[] = []
let doneJob: string | undefined

before(async () => {
  assert.ok(
    existsSync(CHROMIUM),
    `no Chromium at ${CHROMIUM}: run \`npm run setup\` (it installs Debian's chromium)`,
  )
  assert.ok(existsSync(DIST), 'the UI is not built: run `npm run build:ui`')
  dir = await mkdtemp(join(tmpdir(), 'wholesum-ui-e2e-'))
  net = await DaemonDevnet.start({
    dir: join(dir, 'devnet'),
    provers: [{}],
    client: { offerWindowMs: 1000 },
    logLevel: 'warn',
  })
  await net.waitForMesh(30_000)
  // Sandboxing needs user namespaces Chromium cannot get as root here; the page is ours, on loopback.
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })
  const context = await browser.newContext({
    acceptDownloads: true,
    viewport: { width: 1280, height: 900 },
  })
  page = await context.newPage()
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text())
  })
  page.on('pageerror', (error) => pageErrors.push(error.message))
  url = (await net.api.uiTicket()).url
  await mkdir(SHOTS, { recursive: true })
})

after(async () => {
  await browser?.close()
  await net?.stop()
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
})

/** Files as the page sees dropped ones: passed in as base64, dropped on the window. */
async function drop(files: readonly { name: string; bytes: Uint8Array }[]): Promise<void> {
  const payload = files.map((f) => ({ name: f.name, b64: Buffer.from(f.bytes).toString('base64') }))
  await page.evaluate((list) => {
    const transfer = new DataTransfer()
    for (const f of list) {
      const bytes = Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0))
      transfer.items.add(new File([bytes], f.name))
    }
    window.dispatchEvent(
      new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }),
    )
  }, payload)
}

async function go(hash: string, heading: RegExp): Promise<void> {
  await page.evaluate((h) => (location.hash = h), hash)
  await page.getByRole('heading', { level: 1, name: heading }).waitFor({ timeout: 15_000 })
}

async function jobsOnNode(): Promise<number> {
  return (await net.api.jobs({ limit: 500 })).jobs.length
}

describe('the desktop UI in browser mode', { timeout: 15 * 60_000 }, () => {
  test('the one-time URL signs the page in; the same URL a second time does not', async () => {
    await page.goto(url)
    await page.getByRole('heading', { level: 1, name: 'Jobs' }).waitFor({ timeout: 15_000 })
    assert.doesNotMatch(page.url(), /ticket=/, 'the ticket leaves the address bar')
    const second = await browser.newPage()
    try {
      await second.goto(url)
      await second
        .getByRole('heading', { name: "Open this node's UI" })
        .waitFor({ timeout: 15_000 })
      assert.match(
        (await second.getByRole('alert').textContent()) ?? '',
        /used already or has expired/,
      )
    } finally {
      await second.close()
    }
  })

  test('bad drops and picks show a clear message, and create no job', async () => {
    await go('#/submit', /Submit a job/)
    const before = await jobsOnNode()
    const program = page.getByTestId('program-check')
    const hello = await readFile(HASHCHAIN)
    const cases: [string, Uint8Array, RegExp][] = [
      [
        'notes.txt',
        new TextEncoder().encode('just some text, not a program'),
        /neither a RISC Zero program binary nor an ELF/,
      ],
      ['ls', await readFile('/bin/ls'), /64-bit ELF for x86-64/],
      ['truncated.bin', hello.subarray(0, Math.floor(hello.length / 2)), /truncated/],
    ]
    for (const [name, bytes, message] of cases) {
      await drop([{ name, bytes }])
      await program.filter({ hasText: name }).waitFor({ timeout: 10_000 })
      assert.match((await program.textContent()) ?? '', message, name)
      assert.equal(await program.getAttribute('class'), 'error', name)
      assert.equal(await page.getByRole('button', { name: 'Submit' }).isDisabled(), true, name)
    }
    // An oversized program, picked rather than dropped: refused on its size before it is read.
    const big = join(dir, 'oversized.bin')
    await writeFile(big, hello)
    await truncate(big, (await net.api.info()).limits.maxProgramBytes + 1)
    await page.locator('#program-file').setInputFiles(big)
    await program.filter({ hasText: 'oversized.bin' }).waitFor({ timeout: 10_000 })
    assert.match((await program.textContent()) ?? '', /over the node's 32 MiB program limit/)
    // An empty input.
    const empty = join(dir, 'empty.input')
    await writeFile(empty, '')
    await page.locator('#input-file').setInputFiles(empty)
    assert.match(
      (await page.getByTestId('input-check').textContent()) ?? '',
      /empty; a job needs input bytes/,
    )
    assert.equal(await jobsOnNode(), before, 'no job was created')
  })

  test('the hashchain sample dropped: the segment map fills, the node verifies, the journal downloads intact', async () => {
    await go('#/submit', /Submit a job/)
    await drop([
      { name: 'hashchain-small.input', bytes: await readFile(HASHCHAIN_INPUT) },
      { name: 'hashchain.bin', bytes: await readFile(HASHCHAIN) },
    ])
    await page
      .getByTestId('program-check')
      .filter({ hasText: 'RISC Zero program binary' })
      .waitFor()
    assert.match((await page.getByTestId('input-check').textContent()) ?? '', /36 B of input/)
    await page.getByLabel(/Segment size/).fill('16')
    // The estimate: the node executes the program once and keeps nothing (no job yet).
    await page.getByRole('button', { name: 'Estimate' }).click()
    const estimate = page.getByTestId('estimate')
    await estimate.waitFor({ timeout: 60_000 })
    const estimated = ((await estimate.textContent()) ?? '').replace(/\s+/g, ' ')
    const segmentsEstimated = Number(/(\d+) segments at po2 16/.exec(estimated)?.[1])
    assert.ok(segmentsEstimated >= 2, estimated)
    assert.match(estimated, /exit halted 0; 36 B of journal/)
    assert.match(estimated, /at most [\d,]+ \(every segment at 1,000\)/)
    assert.equal((await net.api.jobs()).jobs.length, 0, 'an estimate makes no job')
    await page.screenshot({
      path: join(SHOTS, 'submit-estimate.jpg'),
      type: 'jpeg',
      quality: 80,
      fullPage: true,
    })
    await page.getByRole('button', { name: 'Submit' }).click()
    await page.waitForURL(/#\/jobs\/[0-9a-f]{64}$/, { timeout: 30_000 })
    const jobId = /#\/jobs\/([0-9a-f]{64})$/.exec(page.url())![1]!

    // Watch the map: how many segments it shows proved, until the job is done.
    const canvas = page.locator('.segment-map canvas')
    const seen = new Set<string>()
    const deadline = Date.now() + 10 * 60_000 // did not hang
    for (;;) {
      const [segments, proved] = await Promise.all([
        canvas.getAttribute('data-segments').catch(() => null),
        canvas.getAttribute('data-proved').catch(() => null),
      ])
      if (segments !== null && proved !== null) seen.add(`${proved}/${segments}`)
      const status = await page
        .getByTestId('job-status')
        .textContent()
        .catch(() => null)
      if (status === 'done' && proved !== null && proved === segments) break
      assert.ok(status !== 'failed' && status !== 'cancelled', `the job ended ${status}`)
      assert.ok(
        Date.now() < deadline,
        `the job did not finish; map states seen: ${[...seen].join(', ')}`,
      )
      await page.waitForTimeout(250)
    }
    const detail = await net.api.job(jobId)
    assert.equal(detail.status, 'done')
    assert.ok(detail.segments >= 2, 'hashchain-small at po2 16 has several segments')
    assert.equal(
      detail.segments,
      segmentsEstimated,
      'the estimate counted the segments the job had',
    )
    const states = [...seen].map((s) => Number(s.split('/')[0]))
    assert.ok(
      states.some((p) => p > 0 && p < detail.segments),
      `the map filled step by step: ${[...seen].join(', ')}`,
    )
    await page.screenshot({ path: join(SHOTS, 'job-proving-done.png'), fullPage: true })

    await page.getByRole('button', { name: 'Verify the receipt on the node' }).click()
    const verdict = page.getByTestId('node-verdict')
    await verdict.waitFor({ timeout: 120_000 })
    assert.match((await verdict.textContent()) ?? '', /The node verified the receipt: composite/)

    // The page's own verifier (WebAssembly, in a worker): first against another program's image
    // ID, computed here from that file, which must fail; then against the hashchain program's.
    const pageVerdict = page.getByTestId('page-verdict')
    const programFile = page.getByLabel(/Program file of job/)
    await programFile.setInputFiles(HELLO)
    await page.getByRole('button', { name: /Verify in this page/ }).click()
    await pageVerdict.filter({ hasText: /^\s*Not verified/ }).waitFor({ timeout: 120_000 })
    assert.match(
      (await pageVerdict.textContent()) ?? '',
      /Not verified in this page: the receipt does not verify for image/,
    )
    await programFile.setInputFiles(HASHCHAIN)
    await page.getByRole('button', { name: /Verify in this page/ }).click()
    await pageVerdict.filter({ hasText: /^\s*Verified/ }).waitFor({ timeout: 120_000 })
    assert.match(
      (await pageVerdict.textContent()) ?? '',
      new RegExp(
        `Verified in this page: composite, ${detail.segments} segments, in \\d+ ms, against the image ID computed here from hashchain\\.bin; the journal \\(\\d+ B\\) is the node's`,
      ),
    )
    await page.screenshot({
      path: join(SHOTS, 'job-verified-in-page.jpg'),
      type: 'jpeg',
      quality: 80,
      fullPage: true,
    })

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download journal' }).click(),
    ])
    const saved = join(dir, 'journal-from-page.bin')
    await download.saveAs(saved)
    const fromApi = await net.api.output(jobId, 'journal')
    assert.deepEqual(new Uint8Array(await readFile(saved)), fromApi)
    const expected = JSON.parse(await readFile(join(guests, 'samples', 'expected.json'), 'utf8'))
    // And it is the journal the guest must write for this input (computed apart from risc0).
    assert.equal(Buffer.from(fromApi).toString('hex'), expected['hashchain-small.input'].journal)
    doneJob = jobId
  })

  test('the example plugin: installed from a dropped .tgz, disabled, enabled, uninstalled', async () => {
    const tgz = join(dir, 'example.tgz')
    await tar.c({ gzip: true, file: tgz, cwd: EXAMPLE, prefix: 'package/', portable: true }, [
      'package.json',
      'wholesum-plugin.json',
      'index.ts',
      'README.md',
    ])
    await go('#/plugins', /Plugins/)
    await page.locator('#plugin-file').setInputFiles(tgz)
    const row = page.locator(`tr[data-plugin="${EXAMPLE_NAME}"]`)
    await row.waitFor({ timeout: 30_000 })
    const status = async () =>
      (await net.api.plugins()).plugins.find((p) => p.name === EXAMPLE_NAME)?.status
    assert.notEqual(await status(), undefined)
    assert.match((await row.textContent()) ?? '', /storage/)

    await row.getByRole('button', { name: `Disable ${EXAMPLE_NAME}` }).click()
    await row.getByRole('button', { name: `Enable ${EXAMPLE_NAME}` }).waitFor()
    assert.equal(await status(), 'disabled')

    await row.getByRole('button', { name: `Enable ${EXAMPLE_NAME}` }).click()
    await row.getByRole('button', { name: `Disable ${EXAMPLE_NAME}` }).waitFor()
    assert.notEqual(await status(), 'disabled')

    await row.getByRole('button', { name: `Uninstall ${EXAMPLE_NAME}` }).click()
    await row.waitFor({ state: 'detached' })
    assert.equal(await status(), undefined)

    await page
      .locator('#plugin-file')
      .setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('x') })
    assert.match(
      (await page.getByTestId('plugins-problem').textContent()) ?? '',
      /not a plugin package/,
    )
  })

  test('every view, light and dark: screenshots, and no serious or critical axe violation', async () => {
    const axe = await readFile(join(REPO_ROOT, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8')
    const views: [string, string, RegExp][] = [
      ['jobs', '#/jobs', /^Jobs$/],
      ['submit', '#/submit', /Submit a job/],
      ...(doneJob !== undefined
        ? ([['job', `#/jobs/${doneJob}`, /^Job /]] as [string, string, RegExp][])
        : []),
      ['receipts', '#/receipts', /Receipts/],
      ['plugins', '#/plugins', /Plugins/],
      ['network', '#/network', /Network/],
      ['settings', '#/settings', /Settings/],
    ]
    const failures: string[] = []
    for (const theme of ['light', 'dark']) {
      const current = await page.evaluate(() => document.documentElement.dataset['theme'])
      if (current !== theme) await page.getByRole('button', { name: /Switch to the/ }).click()
      for (const [name, hash, heading] of views) {
        await go(hash, heading)
        if (name === 'job') await page.getByTestId('journal-hex').waitFor({ timeout: 30_000 })
        await page.waitForTimeout(300) // a frame for the map and the lists
        await page.screenshot({
          path: join(SHOTS, `${name}-${theme}.jpg`),
          fullPage: true,
          type: 'jpeg',
          quality: 75,
        })
        await page.evaluate(axe)
        const violations = await page.evaluate(async () => {
          const result = await (
            window as unknown as {
              axe: {
                run(): Promise<{
                  violations: { id: string; impact: string; nodes: { target: string[] }[] }[]
                }>
              }
            }
          ).axe.run()
          return result.violations
            .filter((v) => v.impact === 'serious' || v.impact === 'critical')
            .map(
              (v) =>
                `${v.id} (${v.impact}) at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
            )
        })
        for (const v of violations) failures.push(`${name}/${theme}: ${v}`)
      }
    }
    assert.deepEqual(failures, [])
    assert.deepEqual(pageErrors, [], 'the page logged no error (a CSP violation would show here)')
  })
})
