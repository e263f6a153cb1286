// The store's records as the API shows them.

import type { Attestation, Earning, JobDetail, JobEvent, JobSummary } from '@wholesum/api-client'
import type {
  AttestationRecord,
  EarningRecord,
  EventRecord,
  JobRecord,
  JobStore,
} from '../store/index.ts'

export function jobSummary(store: JobStore, job: JobRecord): JobSummary {
  return {
    jobId: job.jobId,
    role: job.role,
    status: job.status,
    imageId: job.imageId,
    po2: job.po2,
    segments: job.segments,
    proved: job.segments === 0 ? 0 : store.segmentCounts(job.jobId).proved,
    rewardPerSegment: job.rewardPerSegment,
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
    deadline: job.deadline,
    ...(job.error !== undefined ? { error: job.error } : {}),
  }
}

export function jobDetail(store: JobStore, job: JobRecord, now: number): JobDetail {
  const segments = store.getSegments(job.jobId)
  const deals = store.getDeals(job.jobId)
  const price = new Map(deals.map((d) => [d.prover, BigInt(d.pricePerSegment)]))
  let cost = 0n
  for (const s of segments) if (s.provedBy !== undefined) cost += price.get(s.provedBy) ?? 0n
  const finished = job.status === 'done' || job.status === 'failed' || job.status === 'cancelled'
  return {
    ...jobSummary(store, job),
    programCid: job.programCid,
    inputCid: job.inputCid,
    ...(job.manifestCid !== undefined ? { manifestCid: job.manifestCid } : {}),
    outputs: {
      ...(job.receiptCid !== undefined ? { receipt: job.receiptCid } : {}),
      ...(job.journalCid !== undefined ? { journal: job.journalCid } : {}),
      ...(job.stdoutCid !== undefined ? { stdout: job.stdoutCid } : {}),
      ...(job.stderrCid !== undefined ? { stderr: job.stderrCid } : {}),
      ...(job.logsCid !== undefined ? { events: job.logsCid } : {}),
    },
    segmentStates: segments.map((s) => ({
      index: s.idx,
      status: s.status,
      ...(s.claimedBy !== undefined ? { claimedBy: s.claimedBy } : {}),
      ...(s.provedBy !== undefined ? { provedBy: s.provedBy } : {}),
      ...(s.receiptCid !== undefined ? { receiptCid: s.receiptCid } : {}),
      attempts: s.attempts,
      rejects: s.rejects,
    })),
    deals: deals.map((d) => ({
      prover: d.prover,
      pricePerSegment: d.pricePerSegment,
      status: d.status,
      accepted: d.accepted,
      strikes: d.strikes,
    })),
    cost: cost.toString(),
    timings: { elapsedMs: (finished ? job.updatedAt : now) - job.createdAt },
    attestations: store.getAttestations(job.jobId).map(attestation),
  }
}

/** An attestation without its envelope: the signed bytes stay on the node. */
export function attestation(a: AttestationRecord): Attestation {
  return {
    verifier: a.verifier,
    ...(a.account !== undefined ? { account: a.account } : {}),
    verdict: a.verdict,
    receiptDigest: a.receiptDigest,
    ...(a.journalDigest !== undefined ? { journalDigest: a.journalDigest } : {}),
    ...(a.reason !== undefined ? { reason: a.reason } : {}),
    ...(a.agrees !== undefined ? { agrees: a.agrees } : {}),
    receivedAt: a.receivedAt,
  }
}

export function earning(e: EarningRecord): Earning {
  return {
    jobId: e.jobId,
    role: e.role,
    account: e.account,
    ...(e.peer !== undefined ? { peer: e.peer } : {}),
    ...(e.counterparty !== undefined ? { counterparty: e.counterparty } : {}),
    ...(e.chainId !== undefined ? { chainId: e.chainId } : {}),
    ...(e.escrow !== undefined ? { escrow: e.escrow } : {}),
    ...(e.segments !== undefined ? { segments: e.segments } : {}),
    earnedWei: e.earnedWei,
    paidWei: e.paidWei,
    slashedWei: e.slashedWei,
    status: e.status,
    ...(e.reason !== undefined ? { reason: e.reason } : {}),
    txHashes: e.txHashes.map((tx) => ({ kind: tx.kind, hash: tx.hash })),
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
  }
}

export function jobEvent(event: EventRecord): JobEvent {
  return { id: event.id, jobId: event.jobId, at: event.at, type: event.type, data: event.data }
}
