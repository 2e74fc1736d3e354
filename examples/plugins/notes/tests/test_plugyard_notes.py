"""plugyard-notes's own tests: run `pytest` in the plugin directory."""

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parents[1]
# The plugins it requires sit beside it in examples/plugins; a loader puts them on the path the same way.
sys.path[:0] = [str(HERE), str(HERE.parent / "summarizer"), str(HERE.parent / "textkit")]

from plugyard_sdk import InvalidArguments, actions_of  # noqa: E402

from plugyard_notes import Plugin, language, title  # noqa: E402

NOTE = (
    "Release planning for the registry and the loader. "
    "The registry must refuse unsigned uploads before the release. "
    "Coffee machine is broken again. "
    "The loader needs the registry to resolve versions, so the registry ships first."
)


def test_digest(monkeypatch):
    monkeypatch.delenv("NOTES_LANG", raising=False)
    digest = Plugin().digest(NOTE, keywords=3)
    assert digest["title"] == "Release planning for the registry and the loader"
    assert digest["keywords"] == ["registry", "release", "loader"]
    assert digest["summary"].count(".") == 2 and "Coffee" not in digest["summary"]
    assert digest["words"] == 35
    assert digest["language"] == "en"


def test_language_follows_notes_lang(monkeypatch):
    monkeypatch.setenv("NOTES_LANG", "de_DE.UTF-8")
    assert language() == "de"
    assert Plugin().digest("Die Katze und der Hut. Die Katze schläft.", keywords=1)["keywords"] == ["katze"]
    monkeypatch.setenv("NOTES_LANG", "xx")
    assert language() == "en"


def test_long_first_sentence_makes_a_shortened_title():
    assert title("One two three four five six seven eight nine ten.") == "One two three four five six seven eight…"


def test_action_refuses_a_bad_keyword_count():
    with pytest.raises(InvalidArguments, match="keywords"):
        Plugin().digest(NOTE, keywords=-1)
    assert list(actions_of(Plugin)) == ["digest"]
