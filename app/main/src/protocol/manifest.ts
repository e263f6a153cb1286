// The job manifest: the JSON object a client stores (by CID, named in its deals) listing every
// segment's CID and the claim digest its receipt must prove. A prover checks it against the need
// it answered before it fetches a single segment.

import { MessageError } from './errors.ts'
import { cid, fields, hex32, integer } from './schema.ts'
import { MAX_PO2, MIN_PO2, type Bodies } from './messages.ts'

export const MANIFEST_VERSION = 1

export interface JobManifest {
  readonly v: 1
  readonly jobId: string
  readonly imageId: string
  readonly po2: number
  readonly segments: readonly { readonly cid: string; readonly claimDigest: string }[]
}

/**
 * The largest manifest of a job of `segments` segments: per segment at most a 128-char CID and a
 * 64-char digest with their JSON punctuation (about 230 bytes), plus the header. A fetch is
 * bounded by this, so a lying client cannot make a prover download more than its job needs.
 */
export function maxManifestBytes(segments: number): number {
  return 1024 + segments * 256
}

/**
 * Parses and checks a manifest: exactly the fields above, `v` 1, the need's job, image ID and po2,
 * and exactly as many segments as the need announced, each a CID and a 32-byte hex digest.
 * Anything else is a MessageError (`malformed` for bytes that are not JSON, `bad-schema` else).
 */
export function parseManifest(bytes: Uint8Array, need: Bodies['need']): JobManifest {
  let value: unknown
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch (err) {
    throw new MessageError('malformed', `manifest: not UTF-8 JSON (${(err as Error).message})`)
  }
  const m = fields(value, 'manifest', ['v', 'jobId', 'imageId', 'po2', 'segments'])
  integer(m.v, 'manifest.v', MANIFEST_VERSION, MANIFEST_VERSION)
  const mismatch = (field: string, got: unknown, want: unknown): never => {
    throw new MessageError(
      'bad-schema',
      `manifest.${field}: ${JSON.stringify(got)}, but the need says ${JSON.stringify(want)}`,
    )
  }
  if (hex32(m.jobId, 'manifest.jobId') !== need.jobId) mismatch('jobId', m.jobId, need.jobId)
  if (hex32(m.imageId, 'manifest.imageId') !== need.imageId)
    mismatch('imageId', m.imageId, need.imageId)
  if (integer(m.po2, 'manifest.po2', MIN_PO2, MAX_PO2) !== need.po2)
    mismatch('po2', m.po2, need.po2)
  if (!Array.isArray(m.segments))
    throw new MessageError('bad-schema', 'manifest.segments: not an array')
  if (m.segments.length !== need.segments)
    mismatch('segments.length', m.segments.length, need.segments)
  const segments = m.segments.map((s: unknown, i: number) => {
    const f = fields(s, `manifest.segments[${i}]`, ['cid', 'claimDigest'])
    return {
      cid: cid(f.cid, `manifest.segments[${i}].cid`),
      claimDigest: hex32(f.claimDigest, `manifest.segments[${i}].claimDigest`),
    }
  })
  return { v: 1, jobId: need.jobId, imageId: need.imageId, po2: need.po2, segments }
}
