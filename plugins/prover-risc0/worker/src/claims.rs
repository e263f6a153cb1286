//! The claim each segment receipt must carry, read from the executor's own record of the segment,
//! and the check of a segment receipt against it. The client executed the job, so it knows every
//! segment's pre- and post-state; a receipt that verifies but proves another claim is worthless.

use risc0_circuit_rv32im::{HighLowU16, Rv32imV2Claim};
use risc0_zkvm::{sha::Digestible, Digest, ExitCode, MaybePruned, Output, ReceiptClaim, SystemState};
use risc0_zkvm_platform::syscall::halt;
use serde::{Deserialize, Serialize};

/// A claim as it travels between the client and the worker: the digests of its four parts and its
/// exit code. That is all `ReceiptClaim::digest` reads, and all `ReceiptClaim::join` needs, so the
/// client can carry every segment's claim in its manifest and derive the claim each join of the
/// JOIN stage must prove, without the full states only the executor had.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClaimParts {
    pub pre: String,
    pub post: String,
    pub input: String,
    pub output: String,
    pub exit_code: ExitCodeParts,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ExitCodeParts {
    pub kind: String,
    pub code: u32,
}

impl ClaimParts {
    pub fn of(claim: &ReceiptClaim) -> Self {
        let (kind, code) = match claim.exit_code {
            ExitCode::Halted(code) => ("halted", code),
            ExitCode::Paused(code) => ("paused", code),
            ExitCode::SystemSplit => ("system-split", 0),
            _ => ("session-limit", 0),
        };
        ClaimParts {
            pre: hex::encode(claim.pre.digest().as_bytes()),
            post: hex::encode(claim.post.digest().as_bytes()),
            input: hex::encode(claim.input.digest().as_bytes()),
            output: hex::encode(claim.output.digest().as_bytes()),
            exit_code: ExitCodeParts { kind: kind.to_string(), code },
        }
    }

    /// The claim with every part pruned to its digest: the same digest as the full claim.
    pub fn to_claim(&self) -> anyhow::Result<ReceiptClaim> {
        let exit_code = match (self.exit_code.kind.as_str(), self.exit_code.code) {
            ("halted", code) => ExitCode::Halted(code),
            ("paused", code) => ExitCode::Paused(code),
            ("system-split", 0) => ExitCode::SystemSplit,
            ("session-limit", 0) => ExitCode::SessionLimit,
            (kind, code) => anyhow::bail!("exit code {kind}/{code} is not a risc0 exit code"),
        };
        Ok(ReceiptClaim {
            pre: MaybePruned::Pruned(parse_digest(&self.pre, "pre")?),
            post: MaybePruned::Pruned(parse_digest(&self.post, "post")?),
            exit_code,
            input: MaybePruned::Pruned(parse_digest(&self.input, "input")?),
            output: MaybePruned::Pruned(parse_digest(&self.output, "output")?),
        })
    }
}

fn parse_digest(hex_text: &str, what: &str) -> anyhow::Result<Digest> {
    let bytes = hex::decode(hex_text).map_err(|err| anyhow::anyhow!("claim {what} is not hex: {err}"))?;
    Digest::try_from(bytes.as_slice()).map_err(|_| anyhow::anyhow!("claim {what} is not 32 bytes"))
}

/// risc0 3.0.6 keeps a `Segment`'s executor record crate-private (`pub(crate) inner`), but its
/// serde form is public. This mirror has the same fields in the same order, so the claim the
/// executor recorded can be read back without re-executing. A layout change makes the
/// deserialisation fail, or yields a claim no real receipt carries: never a false acceptance.
#[derive(Deserialize)]
struct SegmentMirror {
    index: u32,
    inner: risc0_circuit_rv32im::execute::Segment,
    #[allow(dead_code)]
    output: Option<Output>,
}

/// The segment's index and the `ReceiptClaim` a valid receipt for it proves.
pub fn expected_claim(segment_bytes: &[u8]) -> anyhow::Result<(u32, ReceiptClaim)> {
    let mirror: SegmentMirror = bincode::deserialize(segment_bytes)?;
    Ok((mirror.index, receipt_claim(&mirror.inner.claim)?))
}

/// The mapping risc0 applies when it reads a claim out of a segment seal
/// (`ReceiptClaim::decode_from_seal_v2`, crate-private in 3.0.6), applied to the executor's record.
fn receipt_claim(claim: &Rv32imV2Claim) -> anyhow::Result<ReceiptClaim> {
    let exit_code = match &claim.terminate_state {
        None => ExitCode::SystemSplit,
        Some(term) => {
            let HighLowU16(user_exit, halt_type) = term.a0;
            match halt_type as u32 {
                halt::TERMINATE => ExitCode::Halted(user_exit as u32),
                halt::PAUSE => ExitCode::Paused(user_exit as u32),
                other => anyhow::bail!("illegal halt type {other}"),
            }
        }
    };
    let post_state = match exit_code {
        ExitCode::Halted(_) => Digest::ZERO,
        _ => claim.post_state,
    };
    Ok(ReceiptClaim {
        pre: MaybePruned::Value(SystemState { pc: 0, merkle_root: claim.pre_state }),
        post: MaybePruned::Value(SystemState { pc: 0, merkle_root: post_state }),
        exit_code,
        input: MaybePruned::Pruned(claim.input),
        output: MaybePruned::Pruned(claim.output.unwrap_or_default()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use risc0_circuit_rv32im::TerminateState;

    fn claim(terminate_state: Option<TerminateState>) -> Rv32imV2Claim {
        Rv32imV2Claim {
            pre_state: Digest::from([1u32; 8]),
            post_state: Digest::from([2u32; 8]),
            input: Digest::from([3u32; 8]),
            output: Some(Digest::from([4u32; 8])),
            terminate_state,
            shutdown_cycle: None,
        }
    }

    #[test]
    fn a_split_segment_keeps_its_post_state() {
        let c = receipt_claim(&claim(None)).unwrap();
        assert_eq!(c.exit_code, ExitCode::SystemSplit);
        assert_eq!(c.post.as_value().unwrap().merkle_root, Digest::from([2u32; 8]));
        assert_eq!(c.pre.as_value().unwrap().merkle_root, Digest::from([1u32; 8]));
    }

    #[test]
    fn a_halted_segment_has_a_zero_post_state_and_its_user_exit_code() {
        let halted = TerminateState { a0: HighLowU16(7, halt::TERMINATE as u16), a1: HighLowU16(0, 0) };
        let c = receipt_claim(&claim(Some(halted))).unwrap();
        assert_eq!(c.exit_code, ExitCode::Halted(7));
        assert_eq!(c.post.as_value().unwrap().merkle_root, Digest::ZERO);
    }

    #[test]
    fn an_unknown_halt_type_is_refused() {
        let bogus = TerminateState { a0: HighLowU16(0, 9), a1: HighLowU16(0, 0) };
        assert!(receipt_claim(&claim(Some(bogus))).is_err());
    }

    #[test]
    fn claim_parts_keep_the_digest_and_join_like_risc0() {
        let halted = TerminateState { a0: HighLowU16(0, halt::TERMINATE as u16), a1: HighLowU16(0, 0) };
        let first = receipt_claim(&claim(None)).unwrap();
        let last = receipt_claim(&claim(Some(halted))).unwrap();
        for c in [&first, &last] {
            assert_eq!(ClaimParts::of(c).to_claim().unwrap().digest(), c.digest());
        }
        let joined = ClaimParts::of(&first).to_claim().unwrap().join(&ClaimParts::of(&last).to_claim().unwrap());
        assert_eq!(joined.digest(), first.join(&last).digest());
    }

    #[test]
    fn claim_parts_that_are_not_digests_or_exit_codes_are_refused() {
        let mut parts = ClaimParts::of(&receipt_claim(&claim(None)).unwrap());
        parts.exit_code = ExitCodeParts { kind: "system-split".into(), code: 3 };
        assert!(parts.to_claim().is_err());
        parts.exit_code = ExitCodeParts { kind: "halted".into(), code: 3 };
        parts.pre = "abcd".into();
        assert!(parts.to_claim().is_err());
    }

    #[test]
    fn bytes_that_are_not_a_segment_are_refused() {
        assert!(expected_claim(b"not a segment").is_err());
    }
}
