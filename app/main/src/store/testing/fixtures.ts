// Test data for the job store: real CIDs, hex IDs, peer IDs and a job with its segments.

import { createHash } from 'node:crypto'
import { CID } from 'multiformats/cid'
import { create as createDigest } from 'multiformats/hashes/digest'
import type { NewJob, NewSegment } from '../records.ts'

const RAW = 0x55
const SHA2_256 = 0x12

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}

/** A real CIDv1 (raw, sha2-256) of `text`, as IPFS would name those bytes. */
export function cidOf(text: string): string {
  const bytes = createHash('sha256').update(text).digest()
  return CID.create(1, RAW, createDigest(SHA2_256, bytes)).toString()
}

/** A peer-ID-shaped string (letters and digits) unique to `name`. */
export function peerId(name: string): string {
  return `12D3KooW${sha256Hex(name).slice(0, 44)}`
}

export function newJob(name: string, segments: number, overrides: Partial<NewJob> = {}): NewJob {
  return {
    jobId: sha256Hex(`job:${name}`),
    role: 'client',
    imageId: sha256Hex(`image:${name}`),
    programCid: cidOf(`program:${name}`),
    inputCid: cidOf(`input:${name}`),
    po2: 20,
    segments,
    status: 'proving',
    rewardPerSegment: '1500',
    deadline: 2_000_000,
    createdAt: 1_000_000,
    nonce: sha256Hex(`nonce:${name}`).slice(0, 32),
    ...overrides,
  }
}

export function newSegments(name: string, count: number): NewSegment[] {
  return Array.from({ length: count }, (_, idx) => ({
    idx,
    segmentCid: cidOf(`segment:${name}:${idx}`),
    expectedClaim: sha256Hex(`claim:${name}:${idx}`),
  }))
}
