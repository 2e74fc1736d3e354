"""Plugyard's HTTP gateway: the stack's one HTTP port, a read-only IPFS trustless gateway over the archives in the object store."""
