"""plugyard-textkit: text helpers as actions, and as a library for the plugins that require it."""

from plugyard_sdk import Plugin as PluginBase
from plugyard_sdk import action

from plugyard_textkit import text as textlib


class Plugin(PluginBase):
    @action
    def normalize(self, text: str) -> dict:
        return {"text": textlib.normalize(text)}

    @action
    def count(self, text: str) -> dict:
        return {
            "characters": len(textlib.normalize(text)),
            "words": textlib.word_count(text),
            "sentences": len(textlib.sentences(text)),
        }
