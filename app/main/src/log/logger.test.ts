// Specification of the structured logger: JSON lines, levels, component children.

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createLogger, parseLogLevel } from './logger.ts'

function sink() {
  const lines: string[] = []
  return { lines, stream: { write: (line: string) => lines.push(line) } }
}

describe('logger', () => {
  it('writes one JSON line per record with ts, level, component, msg and fields', () => {
    const { lines, stream } = sink()
    const log = createLogger({ level: 'debug', stream, now: () => 0 })
    log.info('started', { port: 8080 })
    assert.equal(lines.length, 1)
    assert.ok(lines[0]?.endsWith('\n'))
    assert.deepEqual(JSON.parse(lines[0]!), {
      ts: '1970-01-01T00:00:00.000Z',
      level: 'info',
      component: 'wholesum',
      msg: 'started',
      fields: { port: 8080 },
    })
  })

  it('drops records below its level, and silent drops everything', () => {
    const { lines, stream } = sink()
    const log = createLogger({ level: 'warn', stream })
    log.debug('d')
    log.info('i')
    log.warn('w')
    log.error('e')
    assert.deepEqual(
      lines.map((l) => JSON.parse(l).msg),
      ['w', 'e'],
    )
    const quiet = createLogger({ level: 'silent', stream })
    quiet.error('nobody hears this')
    assert.equal(lines.length, 2)
  })

  it('forComponent makes a child that tags records with a nested component name', () => {
    const { lines, stream } = sink()
    const child = createLogger({ level: 'info', stream })
      .forComponent('plugin-host')
      .forComponent('x')
    child.warn('hi')
    assert.equal(JSON.parse(lines[0]!).component, 'wholesum:plugin-host:x')
  })

  it('reads its level from WHOLESUM_LOG, defaulting to info for unknown values', () => {
    assert.equal(parseLogLevel('DEBUG'), 'debug')
    assert.equal(parseLogLevel('silent'), 'silent')
    assert.equal(parseLogLevel('verbose'), 'info')
    assert.equal(parseLogLevel(undefined), 'info')
    const saved = process.env.WHOLESUM_LOG
    process.env.WHOLESUM_LOG = 'error'
    try {
      assert.equal(createLogger({ stream: sink().stream }).level, 'error')
    } finally {
      if (saved === undefined) delete process.env.WHOLESUM_LOG
      else process.env.WHOLESUM_LOG = saved
    }
  })

  it('serialises errors and bigints, and never throws on cyclic fields or a broken stream', () => {
    const { lines, stream } = sink()
    const log = createLogger({ level: 'info', stream })
    log.error('failed', { error: Object.assign(new Error('boom'), { code: 'E_X' }), wei: 10n })
    assert.deepEqual(JSON.parse(lines[0]!).fields, {
      error: { name: 'Error', message: 'boom', code: 'E_X' },
      wei: '10',
    })
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    assert.doesNotThrow(() => log.info('cyclic', cyclic))
    const broken = createLogger({
      level: 'info',
      stream: {
        write: () => {
          throw new Error('EPIPE')
        },
      },
    })
    assert.doesNotThrow(() => broken.info('lost'))
  })
})
