// Runs the worker in a locked-down container and presents it as a WorkerProcess (stdio + exit).

import { EventEmitter, once } from 'node:events'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import type Docker from 'dockerode'
import type { ExitReason } from '../worker-process.ts'

export interface ContainerLimits {
  /** Hard memory limit in bytes; swap is not allowed on top of it. */
  readonly memoryBytes: number
  /** CPU quota in whole or fractional CPUs; undefined: no quota. */
  readonly cpus?: number
  readonly pids: number
  /** Size of the private writable /tmp (tmpfs), in bytes. */
  readonly tmpBytes: number
}

export interface ContainerWorkerSpec {
  readonly image: string
  /** `host:container:ro|rw` bind mounts: the job's files and nothing else. */
  readonly binds: readonly string[]
  readonly limits: ContainerLimits
  /** Labels let operators (and tests) find containers of ours. */
  readonly labels: Readonly<Record<string, string>>
  /** uid:gid the worker runs as, so files it writes belong to the user. */
  readonly user: string
}

export const LABEL = 'network.wholesum.worker'

/** Where the worker listens inside the container; its folder is the request's private control dir. */
const CONTROL_DIR = '/work/ctl'
const SOCKET_NAME = 'worker.sock'
const SOCKET_WAIT_MS = 30_000

/** Exit 137 is SIGKILL; podman 4.3 reports OOMKilled false even then, so both are checked. */
function exitReason(
  status: number,
  oomKilled: boolean,
  killedByUs: boolean,
  limits: ContainerLimits,
): ExitReason | undefined {
  if (killedByUs) return undefined
  if (oomKilled || status === 137) {
    return {
      kind: 'memory-limit',
      message: `exceeded its memory limit of ${Math.round(limits.memoryBytes / 2 ** 20)} MiB`,
    }
  }
  return undefined
}

export function createContainerOptions(
  spec: ContainerWorkerSpec,
  controlDir: string,
): Docker.ContainerCreateOptions {
  const { limits } = spec
  return {
    Image: spec.image,
    // Frames go over a Unix socket in a bind-mounted folder, not stdin: Podman's attach API
    // forwards the HTTP request body into the container's stdin ahead of our bytes.
    Cmd: ['serve', '--listen', `${CONTROL_DIR}/${SOCKET_NAME}`],
    User: spec.user,
    Labels: { [LABEL]: 'risc0', ...spec.labels },
    Env: ['RUST_BACKTRACE=0'],
    AttachStdin: false,
    AttachStdout: true,
    AttachStderr: true,
    OpenStdin: false,
    Tty: false,
    NetworkDisabled: true,
    HostConfig: {
      NetworkMode: 'none',
      ReadonlyRootfs: true,
      Binds: [...spec.binds, `${controlDir}:${CONTROL_DIR}:rw`],
      Tmpfs: { '/tmp': `rw,noexec,nosuid,size=${limits.tmpBytes}` },
      Memory: limits.memoryBytes,
      MemorySwap: limits.memoryBytes,
      PidsLimit: limits.pids,
      ...(limits.cpus !== undefined ? { NanoCpus: Math.round(limits.cpus * 1e9) } : {}),
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
    },
  }
}

/**
 * One container per worker start. Whatever happens (exit, kill, failure to start), the container
 * is removed before `exit` or `error` is emitted, so none is ever left behind.
 */
export class ContainerWorker extends EventEmitter {
  readonly stdin = new PassThrough()
  readonly stdout = new PassThrough()
  readonly stderr = new PassThrough()
  exited = false
  #container: Docker.Container | undefined
  #killed = false
  readonly #docker: Docker
  readonly #spec: ContainerWorkerSpec

  constructor(docker: Docker, spec: ContainerWorkerSpec) {
    super()
    this.#docker = docker
    this.#spec = spec
    void this.#run()
  }

  /** The container's ID once created (for inspection in tests and logs). */
  get id(): string | undefined {
    return this.#container?.id
  }

  kill(): void {
    this.#killed = true
    this.#container?.kill().catch(() => {})
  }

  async #run(): Promise<void> {
    let status = -1
    let oomKilled = false
    let failure: Error | undefined
    const controlDir = await mkdtemp(join(tmpdir(), 'wholesum-ctl-'))
    try {
      const container = await this.#docker.createContainer(
        createContainerOptions(this.#spec, controlDir),
      )
      this.#container = container
      if (this.#killed) throw new Error('killed before it started')
      // No live attach: Podman's service burns a core for as long as an attach is open, which
      // halved proving speed. The worker's stderr is read from the logs once it has exited.
      await container.start()
      this.emit('started', container.id)
      // The worker's exit is seen as its socket closing; only then is `wait` called. A `wait`
      // held open for the whole proof makes Podman 4.3's service poll at full speed, which
      // halved proving speed on two cores.
      const socket = await this.#connect(container, join(controlDir, SOCKET_NAME))
      if (socket !== undefined && !socket.closed) await once(socket, 'close')
      status = ((await container.wait()) as { StatusCode: number }).StatusCode
      await this.#collectStderr(container)
      const state = (await container.inspect()).State
      oomKilled = state.OOMKilled === true
    } catch (err) {
      failure = err as Error
    } finally {
      await this.#container?.remove({ force: true }).catch(() => {})
      await rm(controlDir, { recursive: true, force: true }).catch(() => {})
      this.exited = true
      this.stdout.end()
      this.stderr.end()
    }
    if (failure !== undefined && this.#container === undefined) {
      this.emit('error', failure)
      return
    }
    const reason = exitReason(status, oomKilled, this.#killed, this.#spec.limits)
    this.emit('exit', status, this.#killed ? 'SIGKILL' : null, reason)
  }

  async #collectStderr(container: Docker.Container): Promise<void> {
    try {
      const logs = (await container.logs({ stdout: false, stderr: true, follow: false })) as Buffer
      // Logs of a non-TTY container come multiplexed (8-byte frame headers).
      const framed = new PassThrough()
      container.modem.demuxStream(framed, new PassThrough().resume(), this.stderr)
      framed.end(logs)
      await once(framed, 'end')
    } catch {
      // Logs are a courtesy for error messages; their absence changes nothing else.
    }
  }

  /** Waits for the worker's socket, then joins it to our stdin/stdout. */
  async #connect(container: Docker.Container, socketPath: string): Promise<Socket | undefined> {
    const deadline = Date.now() + SOCKET_WAIT_MS
    for (let attempt = 1; ; attempt++) {
      if (
        await stat(socketPath).then(
          () => true,
          () => false,
        )
      )
        break
      if (this.#killed) return undefined
      if (Date.now() > deadline) {
        this.kill()
        return undefined
      }
      // A worker that dies before listening never makes the socket: look every 200 ms.
      if (attempt % 10 === 0 && (await container.inspect()).State.Running !== true) return undefined
      await sleep(20)
    }
    const socket = connect(socketPath)
    socket.on('error', () => this.kill())
    this.stdin.pipe(socket)
    socket.pipe(this.stdout, { end: false })
    return socket
  }
}
