// Container mode against a real engine (Podman's Docker-compatible API here): proofs, limits, isolation.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  ResourceLimitError,
  TimeoutError,
  UnavailableError,
  type Logger,
} from '@wholesum/plugin-api'
import { openCore, REPO_ROOT } from '../../../../app/main/src/core.ts'
import { proveLocally } from '../../../../app/main/src/jobs/local-prove.ts'
import { Risc0Prover } from '../prover.ts'
import { DEFAULT_IMAGE } from '../settings.ts'
import { LABEL, type ContainerLimits } from './container-worker.ts'
import { candidateSockets, connectEngine, type Engine } from './engine.ts'
import { ContainerRunner } from './runner.ts'

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} }
const guests = join(REPO_ROOT, 'plugins', 'prover-risc0', 'guests')
const hello = {
  program: join(guests, 'dist', 'hello.bin'),
  input: join(guests, 'samples', 'hello.input'),
}
const roomy: ContainerLimits = { memoryBytes: 4 * 2 ** 30, pids: 128, tmpBytes: 64 * 2 ** 20 }

let engine: Engine
// Empty until `before` made it, so that `after` removes nothing when `before` failed.
let work = ''

async function ourContainers(): Promise<string[]> {
  const list = await engine.docker.listContainers({ all: true, filters: { label: [LABEL] } })
  return list.map((c) => c.Id)
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'wholesum-container-'))
  engine = await connectEngine()
})
after(() => (work === '' ? undefined : rm(work, { recursive: true, force: true })))

describe('container mode', () => {
  test('proves a guest to a receipt identical in journal and image ID to local mode, in a sandbox with no network', async () => {
    const sandboxes: Promise<{ network: string; readOnly: boolean; interfaces: string[] }>[] = []
    const runner = new ContainerRunner({
      engine,
      image: DEFAULT_IMAGE,
      limits: roomy,
      logger: quiet,
      onContainer: (id) => {
        sandboxes.push(
          (async () => {
            const info = await engine.docker.getContainer(id).inspect()
            // The container's own view of the network: its netns as seen from the host.
            const netdev = await readFile(`/proc/${info.State.Pid}/net/dev`, 'utf8').catch(() => '')
            const interfaces = netdev
              .split('\n')
              .slice(2)
              .map((line) => line.split(':')[0]!.trim())
              .filter((name) => name !== '')
            return {
              network: info.HostConfig.NetworkMode ?? '',
              readOnly: info.HostConfig.ReadonlyRootfs === true,
              interfaces,
            }
          })(),
        )
      },
    })
    const inContainer = await proveLocally(new Risc0Prover(runner), {
      ...hello,
      outDir: join(work, 'container'),
      po2: 16,
    })

    const core = await openCore({ home: join(work, 'home') })
    try {
      const local = await proveLocally(await core.prover(), {
        ...hello,
        outDir: join(work, 'local'),
        po2: 16,
      })
      assert.equal(inContainer.imageId, local.imageId)
      assert.deepEqual(await readFile(inContainer.journalPath), await readFile(local.journalPath))
      assert.equal(inContainer.verification.kind, 'composite')
      // The container-made receipt verifies with the local verifier too.
      const again = await (
        await core.prover()
      ).verify({ receipt: inContainer.receiptPath, imageId: local.imageId })
      assert.deepEqual(Buffer.from(again.journal), await readFile(local.journalPath))
    } finally {
      await core.close()
    }

    const seen = await Promise.all(sandboxes)
    assert.ok(seen.length >= 4, `one container per request, saw ${seen.length}`)
    for (const sandbox of seen) {
      assert.equal(sandbox.network, 'none')
      assert.equal(sandbox.readOnly, true)
    }
    // At least the long prove-segment container was caught running: it had loopback only.
    const caught = seen.filter((s) => s.interfaces.length > 0)
    assert.ok(caught.length > 0, 'inspected a running container')
    for (const sandbox of caught) assert.deepEqual(sandbox.interfaces, ['lo'])
    assert.deepEqual(await ourContainers(), [], 'no container left behind')
  })

  test('a job over its memory limit is stopped, reported as such, and leaves no container', async () => {
    const runner = new ContainerRunner({
      engine,
      image: DEFAULT_IMAGE,
      limits: { ...roomy, memoryBytes: 48 * 2 ** 20 },
      logger: quiet,
    })
    const execution = await new Risc0Prover(
      new ContainerRunner({ engine, image: DEFAULT_IMAGE, limits: roomy, logger: quiet }),
    ).execute({ ...hello, po2: 16, outDir: join(work, 'oom-exec') })
    await assert.rejects(
      new Risc0Prover(runner).proveSegment({
        segment: execution.segments[0]!.path,
        out: join(work, 'oom.receipt'),
      }),
      (err: unknown) => {
        assert.ok(err instanceof ResourceLimitError, String(err))
        assert.match(err.message, /memory limit of 48 MiB/)
        return true
      },
    )
    assert.deepEqual(await ourContainers(), [])
  })

  test('a job over its timeout is stopped, reported as such, and leaves no container', async () => {
    const runner = new ContainerRunner({
      engine,
      image: DEFAULT_IMAGE,
      limits: roomy,
      logger: quiet,
      timeoutMs: 1500,
    })
    const execution = await new Risc0Prover(
      new ContainerRunner({ engine, image: DEFAULT_IMAGE, limits: roomy, logger: quiet }),
    ).execute({ ...hello, po2: 16, outDir: join(work, 'timeout-exec') })
    await assert.rejects(
      new Risc0Prover(runner).proveSegment({
        segment: execution.segments[0]!.path,
        out: join(work, 'slow.receipt'),
      }),
      TimeoutError,
    )
    assert.deepEqual(await ourContainers(), [])
  })

  test('the plugin in container mode reports the worker capabilities from inside the image', async () => {
    const core = await openCore({
      home: join(work, 'home-container'),
      settings: { plugins: { 'prover-risc0': { mode: 'container' } } },
    })
    try {
      const caps = await (await core.prover()).capabilities()
      assert.equal(caps.risc0Version, '3.0.6')
    } finally {
      await core.close()
    }
  })

  test('no reachable engine gives UnavailableError naming every socket tried', async () => {
    const notAnEngine = join(work, 'not-an-engine.sock')
    await writeFile(notAnEngine, 'just a file')
    await assert.rejects(
      connectEngine(undefined, { sockets: [join(work, 'no-such.sock'), notAnEngine] }),
      (err: unknown) =>
        err instanceof UnavailableError &&
        /no-such\.sock \(absent\)/.test(err.message) &&
        /not-an-engine\.sock \(/.test(err.message),
    )
  })

  test('the sockets tried by default start with the setting and the environment', () => {
    const sockets = candidateSockets('/custom.sock', {
      WHOLESUM_CONTAINER_SOCKET: '/env.sock',
      DOCKER_HOST: 'unix:///docker-host.sock',
    })
    assert.deepEqual(sockets.slice(0, 3), ['/custom.sock', '/env.sock', '/docker-host.sock'])
  })

  test('an input file that does not exist is refused before any container starts', async () => {
    const runner = new ContainerRunner({
      engine,
      image: DEFAULT_IMAGE,
      limits: roomy,
      logger: quiet,
    })
    await assert.rejects(
      runner.request('image-id', { program: join(work, 'missing.bin') }),
      /cannot read program/,
    )
    assert.deepEqual(await ourContainers(), [])
  })
})

describe('scripts/podman-service.sh', () => {
  // setup.sh and test.sh read the script through $(...), which returns only when nothing holds its
  // pipe open: a service left holding it hangs setup for good (as one CI run did).
  test('started on a fresh socket, it prints the socket and returns while the service keeps running', async (t) => {
    if (spawnSync('sh', ['-c', 'command -v podman']).status !== 0)
      return t.skip('podman not installed')
    const socket = join(work, 'fresh-podman.sock')
    t.after(() => {
      spawnSync('pkill', ['-f', `unix://${socket}`])
    })
    const script = join(REPO_ROOT, 'scripts', 'podman-service.sh')
    const run = spawnSync('bash', ['-c', 'sock="$(bash "$0")" && printf %s "$sock"', script], {
      env: { ...process.env, WHOLESUM_CONTAINER_SOCKET: socket },
      encoding: 'utf8',
      // Well beyond the script's own 10 s wait: reaching this means the pipe was held.
      timeout: 120_000,
    })
    assert.equal(run.signal, null, `the script did not return: ${run.stderr}`)
    assert.equal(run.status, 0, run.stderr)
    assert.equal(run.stdout, socket)
    const ping = spawnSync(
      'curl',
      ['-sf', '--max-time', '5', '--unix-socket', socket, 'http://d/_ping'],
      {
        encoding: 'utf8',
      },
    )
    assert.equal(ping.stdout, 'OK', 'the service stopped with the script')
  })
})
