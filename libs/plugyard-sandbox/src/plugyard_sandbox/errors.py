"""Errors of the sandbox layers (stdlib only: the worker imports this)."""

from __future__ import annotations


class SandboxUnavailable(Exception):
    """The host cannot build a layer at all (e.g. libseccomp is missing)."""


class SandboxRefused(Exception):
    """A layer the host requires (spec.required_layers) cannot be applied; the worker must not run the plugin."""
