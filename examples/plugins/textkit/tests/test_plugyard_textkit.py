"""plugyard-textkit's own tests: run `pytest` in the plugin directory."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from plugyard_sdk import actions_of  # noqa: E402

from plugyard_textkit import Plugin  # noqa: E402
from plugyard_textkit.text import content_words, normalize, sentences, top_terms, words  # noqa: E402


def test_normalize_folds_compatibility_characters_and_whitespace():
    assert normalize("  ﬁne\u00a0 print\n\nhere ") == "fine print here"


def test_sentences_and_words():
    text = "Plugins are small. Hosts run them! Do they share state? No."
    assert sentences(text) == ["Plugins are small.", "Hosts run them!", "Do they share state?", "No."]
    assert words("Don't over-think it, Ada.") == ["don't", "over-think", "it", "ada"]


def test_content_words_drop_stop_words_per_language():
    assert content_words("The cat and the hat, 42 times") == ["cat", "hat", "times"]
    assert content_words("Die Katze und der Hut", "de") == ["katze", "hut"]


def test_top_terms_count_and_keep_first_seen_order_on_ties():
    assert top_terms("sandbox plugin sandbox registry plugin sandbox", 2) == [("sandbox", 3), ("plugin", 2)]


def test_actions():
    plugin = Plugin()
    assert plugin.normalize(" a \t b ") == {"text": "a b"}
    assert plugin.count("One two. Three!") == {"characters": 15, "words": 3, "sentences": 2}
    assert set(actions_of(Plugin)) == {"normalize", "count"}
