import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { MessageError } from './errors.ts'
import { maxManifestBytes, parseManifest } from './manifest.ts'
import type { Bodies } from './messages.ts'

const hex = (c: string) => c.repeat(64)
const CID0 = 'QmPZ9gcCEpqKTo6aq61g2nXGUhM4iCL3ewB6LDXZCtioEB'
const need = {
  jobId: hex('a'),
  imageId: hex('b'),
  po2: 16,
  segments: 2,
} as unknown as Bodies['need']
const good = {
  v: 1,
  jobId: hex('a'),
  imageId: hex('b'),
  po2: 16,
  segments: [
    { cid: CID0, claimDigest: hex('1') },
    { cid: CID0, claimDigest: hex('2') },
  ],
}
const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value))

describe('job manifest', () => {
  test("a manifest matching the need parses to the need's job, image, po2 and segments", () => {
    const m = parseManifest(bytes(good), need)
    assert.deepEqual(m, good)
  })

  test('anything else is refused, naming the field', () => {
    const cases: [unknown, RegExp][] = [
      [{ ...good, v: 2 }, /manifest\.v/],
      [{ ...good, jobId: hex('c') }, /manifest\.jobId: .*but the need says/],
      [{ ...good, imageId: hex('c') }, /manifest\.imageId/],
      [{ ...good, po2: 18 }, /manifest\.po2/],
      [
        { ...good, segments: good.segments.slice(0, 1) },
        /manifest\.segments\.length: 1, but the need says 2/,
      ],
      [{ ...good, segments: {} }, /manifest\.segments/],
      [{ ...good, extra: 1 }, /manifest/],
      [
        { ...good, segments: [good.segments[0], { cid: 'not a cid', claimDigest: hex('2') }] },
        /manifest\.segments\[1\]\.cid/,
      ],
      [
        { ...good, segments: [good.segments[0], { cid: CID0, claimDigest: 'xyz' }] },
        /manifest\.segments\[1\]\.claimDigest/,
      ],
      [
        { ...good, segments: [good.segments[0], { ...good.segments[1], size: 3 }] },
        /segments\[1\]/,
      ],
      [[good], /manifest/],
    ]
    for (const [value, message] of cases) {
      assert.throws(
        () => parseManifest(bytes(value), need),
        (err: unknown) =>
          err instanceof MessageError && err.code === 'bad-schema' && message.test(err.message),
        JSON.stringify(value).slice(0, 80),
      )
    }
  })

  test('bytes that are not UTF-8 JSON are malformed', () => {
    for (const raw of [Uint8Array.of(0xff, 0xfe), new TextEncoder().encode('{"v":1,')]) {
      assert.throws(
        () => parseManifest(raw, need),
        (err: unknown) => err instanceof MessageError && err.code === 'malformed',
      )
    }
  })

  test('the fetch bound covers the largest honest manifest of a need', () => {
    const longest = {
      ...good,
      segments: Array.from({ length: 1000 }, () => ({
        cid: 'b'.repeat(128),
        claimDigest: hex('f'),
      })),
    }
    assert.ok(bytes(longest).byteLength <= maxManifestBytes(1000))
    // the client writes it with JSON.stringify, no indentation
    assert.ok(maxManifestBytes(1000) < 300_000)
  })
})
