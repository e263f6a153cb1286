// Opens the core for a command that works on this machine, and closes it whatever happens.

import { openCore, type Core } from '../../core.ts'
import { createLogger, parseLogLevel } from '../../log/logger.ts'
import type { CommandContext } from '../commands.ts'

export async function withCore<T>(
  context: CommandContext,
  use: (core: Core) => Promise<T>,
): Promise<T> {
  // The CLI's own lines are the progress view; structured logs only from warnings up, unless asked.
  const core = await openCore({
    home: context.home,
    logger: createLogger({ level: parseLogLevel(process.env['WHOLESUM_LOG'] ?? 'warn') }),
  })
  try {
    return await use(core)
  } finally {
    await core.close()
  }
}
