"""Review: 先审后发 — machine checks, multi-level human sign-off, the audit chain."""
