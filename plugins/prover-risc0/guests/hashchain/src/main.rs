//! `hashchain`: iterated SHA-256, a guest whose cycle count is set by its input.
//!
//! Input (36 bytes; bytes after the first 36 are ignored):
//!   [u32 LE rounds][32-byte seed]
//! Computation: d_0 = seed, d_{i+1} = SHA-256(d_i) (a 32-byte message each round).
//! Journal (36 bytes): [u32 LE rounds][32-byte d_rounds].
//!
//! Each round is one SHA-256 compression through the zkVM's accelerated `sys_sha_compress`
//! syscall, on stack buffers: `risc0_zkvm::sha::Impl` would allocate 64 bytes per call, and the
//! default guest heap never frees, so a long chain would run out of memory.

#![no_main]

use std::io::{Read, Write};

use risc0_zkvm::guest::env;
use risc0_zkvm::sha::{Impl, Sha256, SHA256_INIT};
use risc0_zkvm_platform::syscall::sys_sha_compress;

/// SHA-256 of a 32-byte message: one block = message || 0x80 || zeros || bit length (256, BE).
fn sha256_32(state_out: &mut [u32; 8], message: &[u32; 8], padding: &[u32; 8], init: &[u32; 8]) {
    // SAFETY: all four pointers are to live, 4-byte aligned [u32; 8] buffers.
    unsafe { sys_sha_compress(state_out, init, message, padding) }
}

fn words(bytes: &[u8; 32]) -> [u32; 8] {
    // The zkVM's SHA state and blocks are little-endian words holding the big-endian byte stream,
    // i.e. the memory layout of the bytes themselves.
    core::array::from_fn(|i| u32::from_le_bytes(bytes[4 * i..4 * i + 4].try_into().unwrap()))
}

fn bytes(words: &[u32; 8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, w) in words.iter().enumerate() {
        out[4 * i..4 * i + 4].copy_from_slice(&w.to_le_bytes());
    }
    out
}

fn main() {
    let mut input = Vec::new();
    env::stdin()
        .read_to_end(&mut input)
        .expect("reading the guest input");
    if input.len() < 36 {
        panic!(
            "hashchain: input must be [u32 LE rounds][32-byte seed] (36 bytes), got {} bytes",
            input.len()
        );
    }
    let rounds = u32::from_le_bytes(input[..4].try_into().unwrap());
    let seed: [u8; 32] = input[4..36].try_into().unwrap();

    let mut padding = [0u8; 32];
    padding[0] = 0x80;
    padding[24..].copy_from_slice(&256u64.to_be_bytes());
    let padding = words(&padding);
    let init: [u32; 8] = SHA256_INIT
        .as_words()
        .try_into()
        .expect("SHA-256 initial state is 8 words");

    let mut current = words(&seed);
    let mut next = [0u32; 8];
    if rounds > 0 {
        // Self-check of the hand-made padding against risc0's own SHA-256 (once).
        sha256_32(&mut next, &current, &padding, &init);
        assert_eq!(
            bytes(&next),
            Impl::hash_bytes(&seed).as_bytes(),
            "hashchain: compression-based SHA-256 disagrees with risc0_zkvm::sha"
        );
    }
    let start = env::cycle_count();
    for _ in 0..rounds {
        sha256_32(&mut next, &current, &padding, &init);
        current = next;
    }
    let used = env::cycle_count() - start;
    let digest = bytes(&current);

    writeln!(env::stderr(), "hashchain: {rounds} rounds in {used} cycles").expect("guest stderr");

    let mut journal = [0u8; 36];
    journal[..4].copy_from_slice(&rounds.to_le_bytes());
    journal[4..].copy_from_slice(&digest);
    env::commit_slice(&journal);
}

risc0_zkvm::guest::entry!(main);
