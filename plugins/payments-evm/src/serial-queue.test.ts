import { test } from 'node:test'
import assert from 'node:assert/strict'
import { AbortError } from '@wholesum/plugin-api'
import { SerialQueue } from './serial-queue.ts'

const tick = () => new Promise((resolve) => setTimeout(resolve, 5))

test('tasks run one at a time, in the order queued, a failure not stopping the next', async () => {
  const queue = new SerialQueue()
  const log: string[] = []
  const task =
    (name: string, fail = false) =>
    async () => {
      log.push(`start ${name}`)
      await tick()
      log.push(`end ${name}`)
      if (fail) throw new Error(name)
      return name
    }
  const results = await Promise.allSettled([
    queue.run(task('a')),
    queue.run(task('b', true)),
    queue.run(task('c')),
  ])
  assert.deepEqual(log, ['start a', 'end a', 'start b', 'end b', 'start c', 'end c'])
  assert.deepEqual(
    results.map((r) => r.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  )
})

test('an abort while waiting rejects at once and the task never runs; an abort after it started is ignored', async () => {
  const queue = new SerialQueue()
  let release!: () => void
  const gate = new Promise<void>((resolve) => (release = resolve))
  const started: string[] = []
  const running = new AbortController()
  const first = queue.run(async () => {
    started.push('first')
    await gate
    return 'sent'
  }, running.signal)
  const waiting = new AbortController()
  const second = queue.run(async () => {
    started.push('second')
    return 'sent'
  }, waiting.signal)
  await tick()
  running.abort()
  waiting.abort()
  await assert.rejects(second, AbortError)
  release()
  assert.equal(await first, 'sent')
  await queue.run(async () => undefined)
  assert.deepEqual(started, ['first'])
  await assert.rejects(
    queue.run(async () => 1, AbortSignal.abort()),
    AbortError,
  )
})
