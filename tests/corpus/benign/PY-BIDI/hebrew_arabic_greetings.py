# Benign look-alike: right-to-left text (Hebrew, Arabic) in strings, with no bidi control characters.
GREETINGS = {"he": "שלום עולם", "ar": "مرحبا بالعالم", "fa": "سلام دنیا"}


def greet(lang):
    return GREETINGS.get(lang, "Hello, world")
