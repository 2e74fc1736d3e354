"""Plugyard's own rules. Every module here registers its rules on import (see `plugyard_analysis.rulebook`)."""
