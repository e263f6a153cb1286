// `wholesum plugins …`: this home's plugins, installed, enabled and removed.

import { resolve } from 'node:path'
import { need, parseCommand, UsageError } from '../args.ts'
import type { CommandRun } from '../commands.ts'
import { withCore } from './open.ts'

export const plugins: CommandRun = async (argv, context) => {
  const { positionals } = parseCommand(argv, {})
  const [action, target] = positionals
  return withCore(context, async (core) => {
    switch (action) {
      case undefined:
      case 'list':
        for (const p of core.host.list()) {
          process.stdout.write(
            `${p.name.padEnd(24)} ${p.version.padEnd(10)} ${p.kinds.join(',').padEnd(18)} ${p.source.padEnd(8)} ${p.status}${p.error ? `  (${p.error})` : ''}\n`,
          )
        }
        return 0
      case 'install': {
        const path = resolve(need(target, '<folder|.tgz>'))
        const installed =
          path.endsWith('.tgz') || path.endsWith('.tar.gz')
            ? await core.host.installFromTarball(path)
            : await core.host.installFromFolder(path)
        process.stdout.write(`installed ${installed.name}@${installed.version}\n`)
        return 0
      }
      case 'enable':
        await core.host.enable(need(target, '<name>'))
        return 0
      case 'disable':
        await core.host.disable(need(target, '<name>'))
        return 0
      case 'uninstall':
        await core.host.uninstall(need(target, '<name>'))
        return 0
      default:
        throw new UsageError(`unknown plugins action ${action}`)
    }
  })
}
