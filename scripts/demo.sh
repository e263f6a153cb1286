#!/usr/bin/env bash
# The main job on embedded defaults: a devnet on loopback (a bootstrap node, three prover and
# three verifier processes, real libp2p over TCP) proves a sample guest that the client executed
# into segments; the client verifies every segment receipt and the assembled receipt, a quorum of
# verifiers attests to it; then anyone can verify it.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
dist="$ROOT/plugins/prover-risc0/guests/dist"
samples="$ROOT/plugins/prover-risc0/guests/samples"
out="$ROOT/out/devnet"
say "devnet: 3 provers prove the hashchain guest (po2 16: three segments) over libp2p on loopback; 3 verifiers attest"
"$NODE" app/main/src/cli/main.ts devnet --provers 3 --verifiers 3 --program "$dist/hashchain.bin" \
  --input "$samples/hashchain-small.input" --po2 16 --out "$out"
say "verifying the receipt again, from the file, as anyone could"
"$NODE" app/main/src/cli/main.ts verify "$out/receipt.bin" --image-id "$(cat "$dist/hashchain.imageid")" --journal "$out/journal.bin"
say "outputs in $out: receipt.bin journal.bin job.json (CIDs of receipt, journal, stdout, stderr, events); node logs in $out/*/node.log"
