// Finds a Docker-compatible engine (Docker, or Podman's `podman system service`) and connects to it.

import { access } from 'node:fs/promises'
import Docker from 'dockerode'
import { UnavailableError } from '@wholesum/plugin-api'

/** Sockets tried in order when no socket is configured. */
export function candidateSockets(setting: unknown, env: NodeJS.ProcessEnv = process.env): string[] {
  const fromDockerHost = env['DOCKER_HOST']?.startsWith('unix://')
    ? env['DOCKER_HOST'].slice('unix://'.length)
    : undefined
  const runtimeDir = env['XDG_RUNTIME_DIR']
  return [
    typeof setting === 'string' && setting !== '' ? setting : undefined,
    env['WHOLESUM_CONTAINER_SOCKET'],
    fromDockerHost,
    // Where scripts/podman-service.sh starts Podman's service.
    '/run/wholesum/podman.sock',
    '/run/podman/podman.sock',
    '/var/run/docker.sock',
    runtimeDir !== undefined ? `${runtimeDir}/podman/podman.sock` : undefined,
  ].filter((path): path is string => path !== undefined && path !== '')
}

export interface Engine {
  readonly docker: Docker
  readonly socketPath: string
  /** `Docker` or `Podman`, from the engine's version answer. */
  readonly product: string
  readonly version: string
}

/** Errors that mean nothing is listening there: trying again would not help. */
const NOT_AN_ENGINE = new Set(['ECONNREFUSED', 'ENOTSOCK', 'ENOENT', 'EACCES', 'EPERM'])

/**
 * Connects to the first socket that answers a ping; a clear error names every socket tried.
 *
 * A socket where something listens but does not answer in time (a hung-up connection, a timeout:
 * Podman's service answers slowly while the machine is loaded) is tried again until `patienceMs`
 * has passed; a socket where nothing listens fails at once.
 */
export async function connectEngine(
  setting?: unknown,
  {
    env = process.env,
    timeoutMs = 3000,
    patienceMs = 15_000,
    sockets,
  }: {
    env?: NodeJS.ProcessEnv
    /** One probe's limit. */
    timeoutMs?: number
    /** How long a socket that answers badly is tried again. */
    patienceMs?: number
    sockets?: readonly string[]
  } = {},
): Promise<Engine> {
  const tried: string[] = []
  for (const socketPath of [...new Set(sockets ?? candidateSockets(setting, env))]) {
    try {
      await access(socketPath)
    } catch {
      tried.push(`${socketPath} (absent)`)
      continue
    }
    const giveUpAt = Date.now() + patienceMs
    let attempts = 0
    for (;;) {
      attempts += 1
      // The probe gets a short timeout; the engine we keep gets none, since `wait` on a container
      // legitimately lasts as long as a proof.
      const probe = new Docker({ socketPath, timeout: timeoutMs })
      try {
        await probe.ping()
        const version = await probe.version()
        const docker = new Docker({ socketPath })
        const podman = version.Components?.some((c) => /podman/i.test(c.Name)) ?? false
        return {
          docker,
          socketPath,
          product: podman ? 'Podman' : 'Docker',
          version: version.Version,
        }
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code
        if ((code !== undefined && NOT_AN_ENGINE.has(code)) || Date.now() + 500 >= giveUpAt) {
          const times = attempts > 1 ? ` after ${attempts} attempts` : ''
          tried.push(`${socketPath} (${(err as Error).message}${times})`)
          break
        }
        await new Promise((resolve) => setTimeout(resolve, 500))
      }
    }
  }
  throw new UnavailableError(
    `no container engine reachable (tried ${tried.join(', ') || 'nothing'}); start Docker, or ` +
      '`podman system service --time=0 unix:///run/podman/podman.sock`, or set the socket in settings',
  )
}
