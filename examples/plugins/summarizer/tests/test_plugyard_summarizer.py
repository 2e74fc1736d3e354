"""plugyard-summarizer's own tests: run `pytest` in the plugin directory."""

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parents[1]
# The plugins it requires sit beside it in examples/plugins; a loader puts them on the path the same way.
sys.path[:0] = [str(HERE), str(HERE.parent / "textkit")]

from plugyard_sdk import InvalidArguments, actions_of  # noqa: E402

from plugyard_summarizer import Plugin, summarize  # noqa: E402

ARTICLE = (
    "The loader runs every plugin in its own sandbox. "
    "Lunch was late on Tuesday. "
    "A sandbox limits what a plugin can reach: the network, files and other programs. "
    "The weather stayed grey. "
    "When a plugin breaks its sandbox rules the loader stops the plugin and reports it."
)


def test_picks_the_sentences_about_the_main_subject_in_text_order():
    assert summarize(ARTICLE, 2) == [
        "The loader runs every plugin in its own sandbox.",
        "When a plugin breaks its sandbox rules the loader stops the plugin and reports it.",
    ]


def test_short_text_comes_back_whole():
    assert summarize("One sentence only.", 3) == ["One sentence only."]
    assert summarize("", 3) == []


def test_action():
    reply = Plugin().summarize(ARTICLE, sentences=1)
    assert reply["sentences"] == ["The loader runs every plugin in its own sandbox."]
    assert reply["summary"] == reply["sentences"][0]
    assert list(actions_of(Plugin)) == ["summarize"]


def test_action_refuses_a_bad_sentence_count():
    with pytest.raises(InvalidArguments, match="sentences"):
        Plugin().summarize(ARTICLE, sentences=0)
