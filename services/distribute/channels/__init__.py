"""New-media delivery (WeChat official accounts, Weibo): what the delivery job and the platform
adapters agree on (`contract`), the per-platform renderers, and the job's rules."""
