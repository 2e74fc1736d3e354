# Benign look-alike: a sanitizer that names the bidi controls with escape sequences (the source itself is ASCII).
import re

BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")


def clean(text: str) -> str:
    return BIDI.sub("", text)
