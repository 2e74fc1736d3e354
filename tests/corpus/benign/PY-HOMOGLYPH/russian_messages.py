# Benign look-alike: Russian user-facing text in strings and comments (Cyrillic words, some all look-alike letters).
MESSAGES = {
    "ok": "Готово: сохранено",
    "cop": "сор",  # слово из одних похожих букв
    "err": "Ошибка: нет доступа к файлу",
}


def message(key):
    return MESSAGES.get(key, key)
