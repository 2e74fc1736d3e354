"""plugyard-summarizer: a naive extractive summary, built on plugyard-textkit."""

from collections import Counter

from plugyard_sdk import InvalidArguments, action
from plugyard_sdk import Plugin as PluginBase

from plugyard_textkit import text as textlib

def summarize(text: str, max_sentences: int = 3, language: str = "en") -> list[str]:
    """The `max_sentences` best sentences of `text`, in the order the text has them."""
    candidates = textlib.sentences(text)
    if len(candidates) <= max_sentences:
        return candidates
    frequency = Counter(textlib.content_words(text, language))

    def score(index: int) -> float:
        terms = textlib.content_words(candidates[index], language)
        return sum(frequency[term] for term in terms) / len(terms) if terms else 0.0

    best = sorted(range(len(candidates)), key=lambda index: (-score(index), index))[:max_sentences]
    return [candidates[index] for index in sorted(best)]


class Plugin(PluginBase):
    @action
    def summarize(self, text: str, sentences: int = 3) -> dict:
        if not isinstance(sentences, int) or isinstance(sentences, bool) or not 1 <= sentences <= 50:
            raise InvalidArguments("sentences must be a whole number from 1 to 50")
        picked = summarize(text, sentences)
        return {"summary": " ".join(picked), "sentences": picked}
