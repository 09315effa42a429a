"""Local servers that behave like the new-media platforms (WeChat official accounts, Weibo),
failures included: the adapters' tests and `make run` post to them, as the platforms cannot be
reached from the hub's machines. Each has a control API (`/_sandbox/…`) to make it fail the way
the platform does, and a page at `/` showing what landed on each account."""
