"""Plugyard marketplace: the only service that talks to a chain.

Contract sources live in ``services/marketplace/contracts/``; their compiled ABI and bytecode,
checked in, in ``plugyard_marketplace/contracts/<Name>.json`` (rebuilt by
``python -m plugyard_marketplace.contract_build``).
"""
