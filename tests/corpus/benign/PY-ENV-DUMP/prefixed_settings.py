# Benign look-alike: collects only the TEXTKIT_* variables as settings.
import os


def settings() -> dict[str, str]:
    return {key[8:].lower(): value for key, value in os.environ.items() if key.startswith("TEXTKIT_")}
