"""Distribute: sites and columns, per-target deliveries, feeds, change feed, webhooks (分发同时)."""
