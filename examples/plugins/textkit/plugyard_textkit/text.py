"""Plain-text helpers: normalizing, splitting into sentences and words, and picking out the words that carry meaning."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

_SENTENCE_BREAK = re.compile(r"(?<=[.!?…])\s+")
_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")

STOPWORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        """a about above after again against all also am an and any are as at be because been before being below
        between both but by can could did do does doing down during each few for from further had has have having he
        her here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not
        now of off on once only or other our ours ourselves out over own same she should so some such than that the
        their theirs them themselves then there these they this those through to too under until up very was we were
        what when where which while who whom why will with would you your yours yourself yourselves""".split()
    ),
    "de": frozenset(
        """aber alle allem allen aller alles als also am an ander andere anderem anderen anderer anderes auch auf aus
        bei bin bis bist da damit dann das dass dein deine dem den denn der des dessen dich die dies diese dieselbe
        diesem diesen dieser dieses dir doch dort du durch ein eine einem einen einer eines er es etwas euch euer für
        gegen hat hatte habe haben hier hin hinter ich ihm ihn ihnen ihr ihre im in indem ins ist jede jedem jeden
        jeder jedes jene jetzt kann kein keine können man manche mein meine mich mir mit muss nach nicht nichts noch nun
        nur ob oder ohne sehr sein seine sich sie sind so solche soll sondern über um und uns unser unter viel vom von
        vor war waren warst was weil welche wenn wer wie wieder will wir wird wo wollen würde zu zum zur zwar zwischen""".split()
    ),
}


def normalize(text: str) -> str:
    """Unicode NFKC, and runs of whitespace (newlines included) made one space."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def sentences(text: str) -> list[str]:
    normalized = normalize(text)
    return [part for part in _SENTENCE_BREAK.split(normalized) if part] if normalized else []


def words(text: str) -> list[str]:
    """Words, case-folded; apostrophes and hyphens inside a word keep it whole."""
    return [word.casefold() for word in _WORD.findall(normalize(text))]


def word_count(text: str) -> int:
    return len(_WORD.findall(normalize(text)))


def content_words(text: str, language: str = "en") -> list[str]:
    """The words that carry meaning: no stop words, no numbers, nothing of one letter."""
    stop = STOPWORDS.get(language, STOPWORDS["en"])
    return [word for word in words(text) if word not in stop and len(word) > 1 and not word.isdigit()]


def top_terms(text: str, count: int = 5, language: str = "en") -> list[tuple[str, int]]:
    """The most frequent content words with their counts; ties go to the word seen first."""
    return Counter(content_words(text, language)).most_common(count)
