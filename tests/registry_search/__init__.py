"""Tests of the registry's search index as a library (no NATS)."""
