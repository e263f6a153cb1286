#!/usr/bin/env node
// The headless `wholesum` command: parses arguments, runs one subcommand, maps errors to exit codes.

import { parseArgs } from 'node:util'
import { resolve } from 'node:path'
import { isWholesumError } from '@wholesum/plugin-api'
import { openCore, type Core } from '../core.ts'
import { createLogger, parseLogLevel } from '../log/logger.ts'
import { proveLocally } from '../jobs/local-prove.ts'
import { DEFAULT_PO2 } from '../jobs/limits.ts'
import { plainProgress, ttyProgress } from './progress.ts'
import { devnet } from './devnet.ts'
import { parseNodeArgs, runNode } from './node.ts'

const USAGE = `wholesum: verifiable computing with RISC Zero, headless

usage:
  wholesum prove --local <program> --input <file> [--po2 N] [--out DIR] [--image-id HEX] [--keep-segments] [--json]
  wholesum verify <receipt> --image-id <hex> [--journal <file>] [--json]
  wholesum devnet [--provers N] [--program P] [--input F] [--po2 N] [--out DIR] [--liar corrupt|wrong-segment] [--json]
  wholesum node --role bootstrap|prover [--listen MULTIADDR] [--bootstrap MULTIADDR]
  wholesum image-id <program>
  wholesum capabilities
  wholesum plugins list | install <folder|.tgz> | enable <name> | disable <name> | uninstall <name>

<program> is a RISC Zero program binary or a riscv32im guest ELF (wrapped with the v1compat kernel).
Environment: WHOLESUM_HOME (data dir, default ~/.wholesum), WHOLESUM_LOG (debug|info|warn|error|silent),
WHOLESUM_RISC0_WORKER (path of the risc0 worker binary).

exit codes: 0 ok, 1 failure, 2 bad usage or bad input, 3 verification failed`

export const EXIT = { ok: 0, failure: 1, usage: 2, verification: 3 } as const

class UsageError extends Error {}

function need(value: string | undefined, what: string): string {
  if (value === undefined || value === '') throw new UsageError(`missing ${what}`)
  return value
}

function parsePo2(text: string | undefined): number {
  if (text === undefined) return DEFAULT_PO2
  const po2 = Number(text)
  if (!Number.isInteger(po2)) throw new UsageError(`--po2 must be an integer, got ${text}`)
  return po2
}

async function prove(core: Core, argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      local: { type: 'boolean' },
      input: { type: 'string', short: 'i' },
      po2: { type: 'string' },
      out: { type: 'string', short: 'o' },
      'image-id': { type: 'string' },
      'keep-segments': { type: 'boolean' },
      json: { type: 'boolean' },
    },
  })
  if (values.local !== true)
    throw new UsageError('only --local proving exists so far (the network lands with the devnet)')
  const program = resolve(need(positionals[0], '<program>'))
  const input = resolve(need(values.input, '--input <file>'))
  const outDir = resolve(
    values.out ?? `wholesum-out-${new Date().toISOString().replace(/[:.]/g, '-')}`,
  )
  const view =
    process.stderr.isTTY && values.json !== true
      ? ttyProgress(process.stderr)
      : plainProgress((line) => process.stderr.write(line + '\n'))
  const prover = await core.prover()
  try {
    const result = await proveLocally(prover, {
      program,
      input,
      outDir,
      po2: parsePo2(values.po2),
      ...(values['image-id'] !== undefined ? { expectedImageId: values['image-id'] } : {}),
      keepSegments: values['keep-segments'] === true,
      onEvent: (event) => view.onEvent(event),
    })
    view.stop()
    const summary = {
      jobId: result.jobId,
      imageId: result.imageId,
      receipt: result.receiptPath,
      receiptKind: result.receiptKind,
      journalHex: Buffer.from(result.verification.journal).toString('hex'),
      segments: result.execution.segments.length,
      cycles: result.execution.totalCycles,
      timings: result.timings,
      outDir,
    }
    if (values.json === true) process.stdout.write(JSON.stringify(summary) + '\n')
    else {
      process.stdout.write(
        `receipt verified (${result.receiptKind}, ${summary.segments} segments, ${summary.cycles} cycles)\n`,
      )
      process.stdout.write(
        `  image ID  ${result.imageId}\n  journal   ${summary.journalHex || '(empty)'}\n  outputs   ${outDir}\n`,
      )
    }
    return EXIT.ok
  } finally {
    view.stop()
  }
}

async function verify(core: Core, argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'image-id': { type: 'string' },
      journal: { type: 'string' },
      json: { type: 'boolean' },
    },
  })
  const receipt = resolve(need(positionals[0], '<receipt>'))
  const imageId = need(values['image-id'], '--image-id <hex>')
  const prover = await core.prover()
  const result = await prover.verify({
    receipt,
    imageId,
    ...(values.journal !== undefined ? { expectedJournal: resolve(values.journal) } : {}),
  })
  const journalHex = Buffer.from(result.journal).toString('hex')
  if (values.json === true)
    process.stdout.write(JSON.stringify({ ok: true, ...result, journal: journalHex }) + '\n')
  else
    process.stdout.write(
      `receipt verifies: ${result.kind}, ${result.segments} segments, exit ${result.exitCode.kind}(${result.exitCode.code}), journal ${journalHex || '(empty)'}\n`,
    )
  return EXIT.ok
}

async function plugins(core: Core, argv: string[]): Promise<number> {
  const [action, target] = argv
  switch (action) {
    case undefined:
    case 'list':
      for (const p of core.host.list()) {
        process.stdout.write(
          `${p.name.padEnd(24)} ${p.version.padEnd(10)} ${p.kinds.join(',').padEnd(18)} ${p.source.padEnd(8)} ${p.status}${p.error ? `  (${p.error})` : ''}\n`,
        )
      }
      return EXIT.ok
    case 'install': {
      const path = resolve(need(target, '<folder|.tgz>'))
      const installed =
        path.endsWith('.tgz') || path.endsWith('.tar.gz')
          ? await core.host.installFromTarball(path)
          : await core.host.installFromFolder(path)
      process.stdout.write(`installed ${installed.name}@${installed.version}\n`)
      return EXIT.ok
    }
    case 'enable':
      await core.host.enable(need(target, '<name>'))
      return EXIT.ok
    case 'disable':
      await core.host.disable(need(target, '<name>'))
      return EXIT.ok
    case 'uninstall':
      await core.host.uninstall(need(target, '<name>'))
      return EXIT.ok
    default:
      throw new UsageError(`unknown plugins action ${action}`)
  }
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE + '\n')
    return command === undefined ? EXIT.usage : EXIT.ok
  }
  let core: Core | undefined
  try {
    // The devnet opens its own cores (one home per node); it needs none here.
    if (command === 'devnet') return await devnet(rest)
    // The CLI's own lines are the progress view; structured logs only from warnings up, unless asked.
    core = await openCore({
      logger: createLogger({ level: parseLogLevel(process.env['WHOLESUM_LOG'] ?? 'warn') }),
    })
    switch (command) {
      case 'prove':
        return await prove(core, rest)
      case 'verify':
        return await verify(core, rest)
      case 'image-id':
        process.stdout.write(
          (await (await core.prover()).imageId(resolve(need(rest[0], '<program>')))) + '\n',
        )
        return EXIT.ok
      case 'capabilities':
        process.stdout.write(
          JSON.stringify(await (await core.prover()).capabilities(), null, 2) + '\n',
        )
        return EXIT.ok
      case 'plugins':
        return await plugins(core, rest)
      case 'node':
        return await runNode(core, parseNodeArgs(rest))
      default:
        throw new UsageError(`unknown command ${command}`)
    }
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`wholesum: ${err.message}\n\n${USAGE}\n`)
      return EXIT.usage
    }
    if (err instanceof Error && 'code' in err && err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      process.stderr.write(`wholesum: ${err.message}\n`)
      return EXIT.usage
    }
    if (isWholesumError(err)) {
      process.stderr.write(`wholesum: ${err.name} [${err.code}]: ${err.message}\n`)
      if (err.code === 'VERIFICATION_FAILED') return EXIT.verification
      if (['INVALID_INPUT', 'INVALID_PROGRAM', 'EMPTY_INPUT', 'INPUT_TOO_LARGE'].includes(err.code))
        return EXIT.usage
      return EXIT.failure
    }
    process.stderr.write(
      `wholesum: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    )
    return EXIT.failure
  } finally {
    await core?.close()
  }
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2))
}
