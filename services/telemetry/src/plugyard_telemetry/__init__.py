"""Plugyard telemetry service."""
