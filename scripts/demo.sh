#!/usr/bin/env bash
# The main job on embedded defaults: a sample guest executed into several segments, proved on this
# machine's CPU through the prover plugin, assembled and verified. (Becomes the devnet later.)
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
dist="$ROOT/plugins/prover-risc0/guests/dist"
samples="$ROOT/plugins/prover-risc0/guests/samples"
out="$ROOT/out/demo"
rm -rf "$out"
say "proving the hashchain guest locally (po2 16: three segments)"
"$NODE" app/main/src/cli/main.ts prove --local "$dist/hashchain.bin" --input "$samples/hashchain-small.input" --po2 16 --out "$out"
say "verifying the receipt again, from the file, as anyone could"
"$NODE" app/main/src/cli/main.ts verify "$out/receipt.bin" --image-id "$(cat "$dist/hashchain.imageid")" --journal "$out/journal.bin"
say "outputs in $out: receipt.bin journal.bin stdout.log stderr.log events.jsonl job.json"
