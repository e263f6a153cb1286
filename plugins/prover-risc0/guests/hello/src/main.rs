//! `hello`: the smallest useful guest.
//!
//! Input: any bytes (possibly none) on the guest's stdin.
//! Journal (36 bytes): [u32 LE input length][32-byte SHA-256 of the input].

#![no_main]

use std::io::{Read, Write};

use risc0_zkvm::guest::env;
use risc0_zkvm::sha::{Impl, Sha256};

fn main() {
    let mut input = Vec::new();
    env::stdin()
        .read_to_end(&mut input)
        .expect("reading the guest input");

    let len = input.len() as u32;
    let digest = Impl::hash_bytes(&input);

    writeln!(env::stdout(), "hello from the zkVM: {len} bytes").expect("guest stdout");
    writeln!(env::stderr(), "hello guest: sha256 computed, committing 36 bytes").expect("guest stderr");

    let mut journal = [0u8; 36];
    journal[..4].copy_from_slice(&len.to_le_bytes());
    journal[4..].copy_from_slice(digest.as_bytes());
    env::commit_slice(&journal);
}

risc0_zkvm::guest::entry!(main);
