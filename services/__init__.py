"""The four domain services; each owns its database and talks to the others through Kafka."""
