"""Operator tooling: the `kitchen` CLI and the local process supervisor behind `make run`."""
