"""plugyard-notes: a digest of a note, from plugyard-summarizer and plugyard-textkit."""

import os

from plugyard_sdk import InvalidArguments, action
from plugyard_sdk import Plugin as PluginBase

from plugyard_summarizer import summarize
from plugyard_textkit import text as textlib

LANGUAGE_VARIABLE = "NOTES_LANG"
TITLE_WORDS = 8


def language() -> str:
    """`NOTES_LANG` as a language textkit knows (`de_DE.UTF-8` counts as `de`); English otherwise."""
    code = os.environ.get(LANGUAGE_VARIABLE, "en")[:2].lower()
    return code if code in textlib.STOPWORDS else "en"


def title(text: str) -> str:
    first = next(iter(textlib.sentences(text)), "")
    words = first.rstrip(".!?…").split()
    return " ".join(words[:TITLE_WORDS]) + ("…" if len(words) > TITLE_WORDS else "")


class Plugin(PluginBase):
    @action
    def digest(self, text: str, keywords: int = 5) -> dict:
        if not isinstance(keywords, int) or isinstance(keywords, bool) or not 0 <= keywords <= 50:
            raise InvalidArguments("keywords must be a whole number from 0 to 50")
        lang = language()
        summary = summarize(text, 2, lang)
        return {
            "title": title(text),
            "summary": " ".join(summary),
            "keywords": [term for term, _count in textlib.top_terms(text, keywords, lang)],
            "words": textlib.word_count(text),
            "language": lang,
        }
