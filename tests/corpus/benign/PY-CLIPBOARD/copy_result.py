# Benign look-alike: copies a computed result to the clipboard (writes only, never reads it).
import pyperclip


def copy_summary(summary: str) -> None:
    pyperclip.copy(summary)
