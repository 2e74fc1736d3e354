"""Read-only SQL over a DuckDB database, within limits."""
