// The `wholesum` command as users run it: a separate process, its output and its exit codes.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { REPO_ROOT } from '../core.ts'
import { spawnNode, stopProcess } from '../devnet/devnet.ts'
import { COMMANDS } from './commands.ts'

const run = promisify(execFile)
const CLI = join(REPO_ROOT, 'app', 'main', 'src', 'cli', 'main.ts')
const guests = join(REPO_ROOT, 'plugins', 'prover-risc0', 'guests')

let home: string

function wholesum(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return wholesumOn(home, ...args)
}

async function wholesumOn(
  homeDir: string,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], {
      env: { ...process.env, WHOLESUM_HOME: homeDir, WHOLESUM_LOG: 'warn' },
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

describe('every mistake exits 2 with a message, never a stack trace', () => {
  const hello = () => join(guests, 'dist', 'hello.bin')
  const helloInput = () => join(guests, 'samples', 'hello.input')
  const cases: [string, () => string[], RegExp][] = [
    [
      'an unknown role',
      () => ['node', '--role', 'x'],
      /--role must be among client, prover, verifier, bootstrap/,
    ],
    ['no provers', () => ['devnet', '--provers', '0'], /--provers must be 1\.\.16, got 0/],
    [
      'a negative po2',
      () => ['prove', '--local', hello(), '--input', helloInput(), '--po2=-1'],
      /--po2 must be 14\.\.22, got -1/,
    ],
    [
      'po2 13, which the worker cannot split programs into',
      () => ['prove', '--local', hello(), '--input', helloInput(), '--po2', '13'],
      /--po2 must be 14\.\.22, got 13/,
    ],
    ['a po2 that is not a number', () => ['devnet', '--po2', 'big'], /--po2 must be an integer/],
    [
      'a bootstrap address without a peer',
      () => ['node', '--bootstrap', '/ip4/127.0.0.1/tcp/4001'],
      /names no peer/,
    ],
    [
      'a bootstrap address with a bad peer ID',
      () => ['node', '--bootstrap', '/ip4/127.0.0.1/tcp/4001/p2p/QmBad'],
      /is not a peer ID/,
    ],
    [
      'a bootstrap address that is not a multiaddr',
      () => ['node', '--bootstrap', '127.0.0.1:4001'],
      /is not a multiaddr/,
    ],
    [
      'a missing receipt file',
      () => ['verify', join(home, 'no-such-receipt.bin'), '--image-id', 'ab'.repeat(32)],
      /receipt .* does not exist/,
    ],
    [
      'a missing program',
      () => ['submit', join(home, 'nope.bin'), '--input', helloInput()],
      /program .* does not exist/,
    ],
    ['an unknown option', () => ['jobs', '--colour', 'red'], /Unknown option '--colour'/],
    ['prove without --local', () => ['prove', hello(), '--input', helloInput()], /wholesum submit/],
  ]
  for (const [what, args, message] of cases) {
    test(what, async () => {
      const { code, stderr } = await wholesum(...args())
      assert.equal(code, 2, stderr)
      assert.match(stderr, message)
      assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace')
    })
  }

  test('every subcommand answers --help with its usage', async () => {
    for (const [name, command] of Object.entries(COMMANDS)) {
      const { code, stdout } = await wholesum(name, '--help')
      assert.equal(code, 0, name)
      assert.equal(stdout.trim(), command.usage.trim(), name)
    }
  })

  test('a client command without a running node says how to start one', async () => {
    const { code, stderr } = await wholesum('jobs')
    assert.equal(code, 1)
    assert.match(stderr, /no daemon is running on .*start one with `wholesum node`/)
  })

  test('a FIFO in a plugin folder is refused, not waited on', async () => {
    const folder = join(home, 'fifo-plugin')
    await rm(folder, { recursive: true, force: true })
    await mkdir(folder, { recursive: true })
    const example = join(REPO_ROOT, 'examples', 'plugin-example')
    for (const name of await readdir(example)) {
      if (name === 'node_modules') continue
      await run('cp', ['-r', join(example, name), folder])
    }
    await run('mkfifo', [join(folder, 'pipe')])
    const { code, stderr } = await wholesum('plugins', 'install', folder)
    assert.equal(code, 2, stderr)
    assert.match(stderr, /pipe is not a regular file or folder/)
  })

  test('devnet --out refuses a folder it did not make, and leaves it as it was', async () => {
    const mine = join(home, 'precious')
    await mkdir(mine, { recursive: true })
    await writeFile(join(mine, 'thesis.tex'), 'years of work')
    const { code, stderr } = await wholesum(
      'devnet',
      '--out',
      mine,
      '--program',
      join(home, 'missing.bin'),
    )
    assert.equal(code, 2, stderr)
    const again = await wholesum('devnet', '--out', mine)
    assert.equal(again.code, 2, again.stderr)
    assert.match(again.stderr, /holds files that no devnet made/)
    assert.equal(await readFile(join(mine, 'thesis.tex'), 'utf8'), 'years of work')
  })

  test('a second node on a home in use is refused, naming the first', async () => {
    const shared = join(home, 'one-home')
    const first = await spawnNode('first', shared, ['--role', 'bootstrap'], { logLevel: 'warn' })
    try {
      const { code, stderr } = await wholesumOn(shared, 'node', '--role', 'bootstrap')
      assert.equal(code, 1, stderr)
      assert.match(
        stderr,
        new RegExp(`another node \\(pid ${first.child.pid}\\) is running on ${shared}`),
      )
    } finally {
      await stopProcess(first)
    }
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
