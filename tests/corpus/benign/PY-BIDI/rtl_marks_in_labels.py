# Benign look-alike: right-to-left labels using the invisible direction marks RLM/LRM (not embedding/override controls).
LABELS = {"he": "קובץ‏ (PDF)", "ar": "ملف‏ (PDF)", "en": "File‎ (PDF)"}


def label(lang):
    return LABELS.get(lang, LABELS["en"])
