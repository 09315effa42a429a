"""Distribute's adapters to the outside world: ingest's version API and webhook receivers."""
