"""Ingest's adapters to the outside world over HTTP: the crawler's fetcher, and distribute's
site tree."""
