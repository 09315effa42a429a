"""Full-text search of the library: same tokens and behaviour on SQLite FTS5 and PostgreSQL."""
