"""Event contract: model, Avro schemas, codec."""
