# Benign look-alike: a text file whose first bytes are "MZ" (like a PE header) read as text
from pathlib import Path

NOTES = Path(__file__).parent / "docs" / "MZ-notes.txt"


def notes():
    return NOTES.read_text(encoding="utf-8")
