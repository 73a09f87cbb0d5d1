"""Witness service: cosigns a ledger's checkpoints over the C2SP tlog-witness protocol."""
