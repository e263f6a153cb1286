//! risc0's own receipt verifier and image-ID computation, for a page that must not trust the node
//! that handed it a receipt.
//!
//! Compiled to `wasm32-unknown-unknown` and driven from JavaScript through a four-function C ABI
//! (no wasm-bindgen: the glue is small enough to write by hand, and its CLI would add minutes to
//! every cold build):
//!
//! - `wholesum_alloc(len) -> ptr` / `wholesum_free(ptr, len)`: buffers the caller fills;
//! - `wholesum_verify(receipt_ptr, receipt_len, image_id_ptr) -> status` verifies a bincode
//!   `Receipt` (risc0's format, as `wholesum receipt export` writes it) against a 32-byte image ID;
//! - `wholesum_image_id(program_ptr, program_len) -> status` computes a program binary's image ID;
//! - each call leaves one JSON document in a result buffer (`wholesum_result_ptr`/`_len`); status 0
//!   means the document describes a success, 1 that it is `{"error": "..."}`.
//!
//! A panic aborts (traps) the instance; the JavaScript side reports it and starts a fresh one.
//! Tested through the built module itself (src/verifier.test.ts), against the worker's receipts.

use std::cell::RefCell;

use bincode::Options;
use risc0_zkvm::{
    sha::{Digest, Digestible},
    ExitCode, InnerReceipt, Receipt, VerifierContext,
};
use serde_json::{json, Value};

/// Receipts larger than this are refused before decoding (a composite receipt of 5,000 po2-20
/// segments is about 1.2 GB; the page never holds one that large).
pub const MAX_RECEIPT_BYTES: usize = 512 * 1024 * 1024;

/// What a verified receipt says.
pub fn verify_receipt(bytes: &[u8], image_id: &[u8]) -> Result<Value, String> {
    let image_id = Digest::try_from(image_id).map_err(|_| format!("an image ID is 32 bytes, got {}", image_id.len()))?;
    if bytes.is_empty() {
        return Err("the receipt is empty".into());
    }
    if bytes.len() > MAX_RECEIPT_BYTES {
        return Err(format!("the receipt is {} bytes, over the {} this verifier reads", bytes.len(), MAX_RECEIPT_BYTES));
    }
    let receipt: Receipt = decode_exact(bytes).map_err(|err| format!("not a risc0 receipt: {err}"))?;
    let (kind, segments) = match &receipt.inner {
        InnerReceipt::Composite(inner) => ("composite", inner.segments.len()),
        InnerReceipt::Succinct(_) => ("succinct", 1),
        InnerReceipt::Groth16(_) => ("groth16", 1),
        InnerReceipt::Fake(_) => return Err("fake (dev-mode) receipts prove nothing and are refused".into()),
        _ => return Err("an unknown receipt kind".into()),
    };
    receipt
        .verify_with_context(&VerifierContext::default(), image_id)
        .map_err(|err| format!("the receipt does not verify for image {}: {err}", hex::encode(image_id.as_bytes())))?;
    let claim = receipt.claim().map_err(|err| format!("the receipt's claim is unreadable: {err}"))?;
    let claim_digest = hex::encode(claim.digest().as_bytes());
    let exit_code = claim.value().map(|claim| exit_code_json(claim.exit_code)).unwrap_or(Value::Null);
    Ok(json!({
        "kind": kind,
        "segments": segments,
        "imageId": hex::encode(image_id.as_bytes()),
        "claimDigest": claim_digest,
        "journalHex": hex::encode(&receipt.journal.bytes),
        "exitCode": exit_code,
    }))
}

/// A program binary's (or a legacy combined ELF's) image ID, as risc0-binfmt computes it.
pub fn image_id_of(program: &[u8]) -> Result<Value, String> {
    if program.is_empty() {
        return Err("the program is empty".into());
    }
    let image_id = risc0_binfmt::compute_image_id(program).map_err(|err| format!("not a RISC Zero program binary: {err}"))?;
    Ok(json!({ "imageId": hex::encode(image_id.as_bytes()) }))
}

fn exit_code_json(code: ExitCode) -> Value {
    match code {
        ExitCode::Halted(code) => json!({ "kind": "halted", "code": code }),
        ExitCode::Paused(code) => json!({ "kind": "paused", "code": code }),
        ExitCode::SystemSplit => json!({ "kind": "system-split", "code": 0 }),
        ExitCode::SessionLimit => json!({ "kind": "session-limit", "code": 0 }),
        other => json!({ "kind": format!("{other:?}").to_lowercase(), "code": 0 }),
    }
}

/// bincode as `bincode::deserialize` reads it (fixed-width integers), bounded by the input's own
/// length (a forged length prefix cannot make it allocate more), and with nothing after the value:
/// a receipt with bytes appended is not the object its CID names.
fn decode_exact<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, bincode::Error> {
    bincode::DefaultOptions::new()
        .with_fixint_encoding()
        .reject_trailing_bytes()
        .with_limit(bytes.len() as u64)
        .deserialize(bytes)
}

// ---- the C ABI ----------------------------------------------------------------------------

thread_local! {
    static RESULT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

fn finish(outcome: Result<Value, String>) -> u32 {
    let (status, document) = match outcome {
        Ok(value) => (0, value),
        Err(message) => (1, json!({ "error": message })),
    };
    RESULT.with(|result| *result.borrow_mut() = document.to_string().into_bytes());
    status
}

/// A buffer of `len` bytes for the caller to fill; released with `wholesum_free`.
#[no_mangle]
pub extern "C" fn wholesum_alloc(len: usize) -> *mut u8 {
    let mut buffer = Vec::<u8>::with_capacity(len.max(1));
    let ptr = buffer.as_mut_ptr();
    std::mem::forget(buffer);
    ptr
}

/// # Safety
/// `ptr` and `len` must come from one `wholesum_alloc` call, released once.
#[no_mangle]
pub unsafe extern "C" fn wholesum_free(ptr: *mut u8, len: usize) {
    drop(Vec::from_raw_parts(ptr, 0, len.max(1)));
}

/// # Safety
/// `receipt` must point at `receipt_len` readable bytes and `image_id` at 32.
#[no_mangle]
pub unsafe extern "C" fn wholesum_verify(receipt: *const u8, receipt_len: usize, image_id: *const u8) -> u32 {
    let receipt = std::slice::from_raw_parts(receipt, receipt_len);
    let image_id = std::slice::from_raw_parts(image_id, 32);
    finish(verify_receipt(receipt, image_id))
}

/// # Safety
/// `program` must point at `program_len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn wholesum_image_id(program: *const u8, program_len: usize) -> u32 {
    finish(image_id_of(std::slice::from_raw_parts(program, program_len)))
}

#[no_mangle]
pub extern "C" fn wholesum_result_ptr() -> *const u8 {
    RESULT.with(|result| result.borrow().as_ptr())
}

#[no_mangle]
pub extern "C" fn wholesum_result_len() -> usize {
    RESULT.with(|result| result.borrow().len())
}
