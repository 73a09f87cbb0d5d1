"""Ingest service: Kafka consumer worker and HTTP capture API."""
