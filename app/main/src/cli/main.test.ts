// The `wholesum` command as users run it: a separate process, its output and its exit codes.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { REPO_ROOT } from '../core.ts'

const run = promisify(execFile)
const CLI = join(REPO_ROOT, 'app', 'main', 'src', 'cli', 'main.ts')
const guests = join(REPO_ROOT, 'plugins', 'prover-risc0', 'guests')

let home: string

async function wholesum(
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], {
      env: { ...process.env, WHOLESUM_HOME: home, WHOLESUM_LOG: 'warn' },
      maxBuffer: 16 * 1024 * 1024,
    })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const failed = err as { code: number; stdout: string; stderr: string }
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr }
  }
}

before(async () => {
  home = await mkdtemp(join(tmpdir(), 'wholesum-cli-'))
})
after(() => rm(home, { recursive: true, force: true }))

describe('wholesum prove --local and verify', () => {
  const out = () => join(home, 'out')
  const imageId = async () => (await readFile(join(guests, 'dist', 'hello.imageid'), 'utf8')).trim()

  test('proves a sample guest, writes the outputs and prints a JSON summary', async () => {
    const { code, stdout, stderr } = await wholesum(
      'prove',
      '--local',
      join(guests, 'dist', 'hello.bin'),
      '--input',
      join(guests, 'samples', 'hello.input'),
      '--po2',
      '16',
      '--out',
      out(),
      '--json',
    )
    assert.equal(code, 0, stderr)
    const summary = JSON.parse(stdout)
    assert.equal(summary.imageId, await imageId())
    assert.equal(summary.receiptKind, 'composite')
    // Non-TTY progress: one line per state change.
    assert.match(stderr, /proved segment 1\/1/)
    for (const file of [
      'receipt.bin',
      'journal.bin',
      'stdout.log',
      'stderr.log',
      'events.jsonl',
      'job.json',
    ]) {
      await readFile(join(out(), file))
    }
  })

  test('verify accepts the receipt for its image ID and journal', async () => {
    const { code, stdout } = await wholesum(
      'verify',
      join(out(), 'receipt.bin'),
      '--image-id',
      await imageId(),
      '--journal',
      join(out(), 'journal.bin'),
    )
    assert.equal(code, 0)
    assert.match(stdout, /receipt verifies: composite, 1 segments/)
  })

  test('verify exits 3 for a wrong image ID', async () => {
    const { code, stderr } = await wholesum(
      'verify',
      join(out(), 'receipt.bin'),
      '--image-id',
      'cd'.repeat(32),
    )
    assert.equal(code, 3)
    assert.match(stderr, /VerificationError \[VERIFICATION_FAILED\]/)
  })
})

describe('bad usage and bad input exit 2 with a message', () => {
  test('no command prints usage', async () => {
    const { code, stdout } = await wholesum()
    assert.equal(code, 2)
    assert.match(stdout, /usage:/)
  })

  test('an unknown command', async () => {
    const { code, stderr } = await wholesum('frobnicate')
    assert.equal(code, 2)
    assert.match(stderr, /unknown command frobnicate/)
  })

  test('prove without --input', async () => {
    const { code, stderr } = await wholesum('prove', '--local', join(guests, 'dist', 'hello.bin'))
    assert.equal(code, 2)
    assert.match(stderr, /missing --input/)
  })

  test('prove with an empty input', async () => {
    const empty = join(home, 'empty.input')
    await writeFile(empty, '')
    const { code, stderr } = await wholesum(
      'prove',
      '--local',
      join(guests, 'dist', 'hello.bin'),
      '--input',
      empty,
      '--out',
      join(home, 'x'),
    )
    assert.equal(code, 2)
    assert.match(stderr, /EMPTY_INPUT/)
  })

  test('an image ID that is not hex', async () => {
    const { code, stderr } = await wholesum(
      'verify',
      join(guests, 'dist', 'hello.bin'),
      '--image-id',
      'xyz',
    )
    assert.equal(code, 2)
    assert.match(stderr, /not hex/)
  })
})

describe('wholesum plugins', () => {
  test('lists the builtin prover and installs the example plugin from a folder', async () => {
    const listed = await wholesum('plugins', 'list')
    assert.equal(listed.code, 0)
    assert.match(listed.stdout, /prover-risc0 .*builtin/)
    const installed = await wholesum(
      'plugins',
      'install',
      join(REPO_ROOT, 'examples', 'plugin-example'),
    )
    assert.equal(installed.code, 0, installed.stderr)
    const again = await wholesum('plugins', 'list')
    assert.match(again.stdout, /example-memory-storage .*user/)
  })
})
