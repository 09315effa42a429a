"""Adapters to the outside world: the HTTP link checker (the only module here that speaks HTTP)."""
