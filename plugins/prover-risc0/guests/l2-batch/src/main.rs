//! `l2-batch`: a toy rollup step. Verifies and applies a batch of ed25519-signed transfers.
//!
//! All integers are little-endian. Input:
//!
//! ```text
//! [u32 account count N]                        N <= 65536
//! N x [pubkey 32][balance u64][nonce u64]       48 bytes each
//! [u32 tx count M]
//! M x [from u16][to u16][amount u64][nonce u64][signature 64]   84 bytes each
//! ```
//!
//! Anything else (truncated records, trailing bytes) is a malformed batch: the guest panics.
//!
//! A transaction signs (ed25519, RFC 8032, verified strictly) the 103-byte message
//! `"wholesum-l2-transfer-v1" || from pubkey (32) || to pubkey (32) || amount u64 || nonce u64`.
//! Transactions are applied in order; one is *rejected* (counted, skipped, state unchanged) when:
//! an index is out of range, the sender's public key is not a valid point or the signature does
//! not verify, its nonce is not the sender's current nonce, the sender's balance is below the
//! amount, or the credit (or the sender's nonce increment) would overflow u64. An accepted
//! transfer debits the sender, credits the receiver (a self-transfer only bumps the nonce) and
//! increments the sender's nonce.
//!
//! State root: leaf_i = SHA-256(0x00 || pubkey || balance u64 || nonce u64) for each account in
//! table order; the leaf list is padded with all-zero 32-byte leaves to the next power of two;
//! node = SHA-256(0x01 || left || right); the root of one leaf is that leaf; no accounts gives
//! 32 zero bytes.
//!
//! Journal (72 bytes): [prev root 32][new root 32][u32 tx count M][u32 rejected count].

#![no_main]

use std::io::{Read, Write};

use ed25519_dalek::{Signature, VerifyingKey};
use risc0_zkvm::guest::env;
use risc0_zkvm::sha::{Impl, Sha256};

const DOMAIN: &[u8] = b"wholesum-l2-transfer-v1";
const ACCOUNT_BYTES: usize = 48;
const TX_BYTES: usize = 84;

#[derive(Clone)]
struct Account {
    pubkey: [u8; 32],
    balance: u64,
    nonce: u64,
}

struct Tx {
    from: u16,
    to: u16,
    amount: u64,
    nonce: u64,
    signature: [u8; 64],
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> &'a [u8] {
        let end = self.pos.checked_add(n).filter(|&end| end <= self.buf.len());
        let Some(end) = end else {
            panic!(
                "l2-batch: malformed batch: {what} needs {n} bytes at offset {}, only {} left",
                self.pos,
                self.buf.len() - self.pos
            );
        };
        let out = &self.buf[self.pos..end];
        self.pos = end;
        out
    }
    fn u16(&mut self, what: &str) -> u16 {
        u16::from_le_bytes(self.take(2, what).try_into().unwrap())
    }
    fn u32(&mut self, what: &str) -> u32 {
        u32::from_le_bytes(self.take(4, what).try_into().unwrap())
    }
    fn u64(&mut self, what: &str) -> u64 {
        u64::from_le_bytes(self.take(8, what).try_into().unwrap())
    }
    fn array<const N: usize>(&mut self, what: &str) -> [u8; N] {
        self.take(N, what).try_into().unwrap()
    }
}

fn leaf(account: &Account) -> [u8; 32] {
    let mut buf = [0u8; 1 + ACCOUNT_BYTES];
    buf[0] = 0x00;
    buf[1..33].copy_from_slice(&account.pubkey);
    buf[33..41].copy_from_slice(&account.balance.to_le_bytes());
    buf[41..49].copy_from_slice(&account.nonce.to_le_bytes());
    sha256(&buf)
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Impl::hash_bytes(bytes).as_bytes().try_into().unwrap()
}

fn state_root(accounts: &[Account]) -> [u8; 32] {
    if accounts.is_empty() {
        return [0u8; 32];
    }
    let mut level: Vec<[u8; 32]> = accounts.iter().map(leaf).collect();
    level.resize(accounts.len().next_power_of_two(), [0u8; 32]);
    while level.len() > 1 {
        level = level
            .chunks_exact(2)
            .map(|pair| {
                let mut buf = [0u8; 65];
                buf[0] = 0x01;
                buf[1..33].copy_from_slice(&pair[0]);
                buf[33..65].copy_from_slice(&pair[1]);
                sha256(&buf)
            })
            .collect();
    }
    level[0]
}

fn signed_message(from: &[u8; 32], to: &[u8; 32], amount: u64, nonce: u64) -> [u8; 103] {
    let mut msg = [0u8; 103];
    msg[..23].copy_from_slice(DOMAIN);
    msg[23..55].copy_from_slice(from);
    msg[55..87].copy_from_slice(to);
    msg[87..95].copy_from_slice(&amount.to_le_bytes());
    msg[95..103].copy_from_slice(&nonce.to_le_bytes());
    msg
}

/// Why a transaction was rejected, or None when it was applied.
fn apply(accounts: &mut [Account], tx: &Tx) -> Option<&'static str> {
    let (from, to) = (tx.from as usize, tx.to as usize);
    if from >= accounts.len() || to >= accounts.len() {
        return Some("account index out of range");
    }
    let sender = &accounts[from];
    let Ok(key) = VerifyingKey::from_bytes(&sender.pubkey) else {
        return Some("sender public key is not a valid point");
    };
    let msg = signed_message(&sender.pubkey, &accounts[to].pubkey, tx.amount, tx.nonce);
    if key
        .verify_strict(&msg, &Signature::from_bytes(&tx.signature))
        .is_err()
    {
        return Some("bad signature");
    }
    if tx.nonce != sender.nonce {
        return Some("wrong nonce");
    }
    if sender.balance < tx.amount {
        return Some("insufficient balance");
    }
    let Some(next_nonce) = sender.nonce.checked_add(1) else {
        return Some("nonce overflow");
    };
    if from != to && accounts[to].balance.checked_add(tx.amount).is_none() {
        return Some("balance overflow");
    }
    accounts[from].balance -= tx.amount;
    accounts[from].nonce = next_nonce;
    accounts[to].balance += tx.amount;
    None
}

fn main() {
    let mut input = Vec::new();
    env::stdin()
        .read_to_end(&mut input)
        .expect("reading the guest input");
    let mut r = Reader { buf: &input, pos: 0 };

    let n = r.u32("account count") as usize;
    assert!(n <= 1 << 16, "l2-batch: malformed batch: {n} accounts, at most 65536");
    let mut accounts = Vec::with_capacity(n);
    for _ in 0..n {
        accounts.push(Account {
            pubkey: r.array("account pubkey"),
            balance: r.u64("account balance"),
            nonce: r.u64("account nonce"),
        });
    }
    let m = r.u32("tx count");
    let remaining = input.len() - r.pos;
    assert!(
        remaining == m as usize * TX_BYTES,
        "l2-batch: malformed batch: {m} txs need {} bytes, {remaining} present",
        m as usize * TX_BYTES
    );

    let prev_root = state_root(&accounts);
    let mut rejected = 0u32;
    let mut err = env::stderr();
    for i in 0..m {
        let tx = Tx {
            from: r.u16("tx from"),
            to: r.u16("tx to"),
            amount: r.u64("tx amount"),
            nonce: r.u64("tx nonce"),
            signature: r.array("tx signature"),
        };
        if let Some(reason) = apply(&mut accounts, &tx) {
            rejected += 1;
            writeln!(err, "l2-batch: tx {i} rejected: {reason}").expect("guest stderr");
        }
    }
    let new_root = state_root(&accounts);

    writeln!(
        env::stdout(),
        "l2-batch: {n} accounts, {m} txs, {} applied, {rejected} rejected",
        m - rejected
    )
    .expect("guest stdout");

    let mut journal = [0u8; 72];
    journal[..32].copy_from_slice(&prev_root);
    journal[32..64].copy_from_slice(&new_root);
    journal[64..68].copy_from_slice(&m.to_le_bytes());
    journal[68..72].copy_from_slice(&rejected.to_le_bytes());
    env::commit_slice(&journal);
}

risc0_zkvm::guest::entry!(main);
