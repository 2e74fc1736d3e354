# Benign look-alike: removes zero-width characters, naming them with escapes (the source is ASCII).
ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))


def clean(text: str) -> str:
    return text.translate(ZERO_WIDTH)
