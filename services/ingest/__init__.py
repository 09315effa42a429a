"""Ingest: the unified resource library (统一信息资源库, 先入库后使用)."""
