"""Failure handling: circuit breakers shared by every worker, and what requests do when one is open."""
