"""Avro schemas (.avsc): the single source of the wire format (design.md §4)."""
