"""ASGI pieces of the gateway's edge (middleware), kept apart from its domain modules."""
