# Benign look-alike: Persian text where the zero-width non-joiner is part of correct spelling.
LABELS = {"files": "فایل‌ها", "saved": "ذخیره‌شده"}


def label(key):
    return LABELS[key]
