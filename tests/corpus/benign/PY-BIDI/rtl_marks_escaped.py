# Benign look-alike: wraps user text in isolate controls at runtime, written as escapes.
LRI, PDI = "\u2066", "\u2069"


def isolate(name: str) -> str:
    return f"{LRI}{name}{PDI}"
