"""What every service uses the same way: settings, database, events, outbox/inbox, errors, logs.

No business rules live here; services import contracts from `common.events` and nothing from each
other.
"""
