"""Trace query service: trace API, scan page, QR images, regulator endpoints."""
