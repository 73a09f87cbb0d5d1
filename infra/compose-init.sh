#!/usr/bin/env sh
# One-shot set-up for docker compose: a regulator root key and the ledger schema + keys.
# Keys live in the shared volume /var/lib/suyuan/keys (the ledger key signs checkpoints).
set -eu
keys=/var/lib/suyuan/keys
mkdir -p "$keys"
[ -f "$keys/regulator.key" ] || suyuan keys new regulator --out "$keys"
suyuan ledger init --root-key "$keys/regulator.pub" --regulator "$SUYUAN_REGULATOR_USCC"
