"""Suyuan (溯源): a traceability event ledger for food and vaccines.

The core package imports no web framework and no Kafka client; the services in ``services/``
are thin adapters around it.
"""

__version__ = "0.1.0"
