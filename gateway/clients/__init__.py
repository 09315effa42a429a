"""The gateway's adapters to the outside world: the pooled HTTP clients of the four services."""
