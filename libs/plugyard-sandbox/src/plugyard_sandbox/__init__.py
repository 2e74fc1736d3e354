"""The OS sandbox a plugin worker runs in (see spec.py for what the host asks for)."""
