"""Numbers from environment variables: the default when unset, the one-line error naming the variable otherwise."""

from __future__ import annotations

import pytest

from plugyard_core.env_numbers import env_number


class Oops(ValueError):
    pass


def read(text: str | None, **bounds) -> float:
    environ = {} if text is None else {"X_S": text}
    return env_number("X_S", 5.0, what="a number of seconds", error=Oops, environ=environ, **bounds)


def test_unset_or_blank_is_the_default_and_a_number_is_itself():
    assert read(None, least=0) == 5.0 and read("  ", least=0) == 5.0
    assert read("2.5", least=0) == 2.5 and read("0", least=0) == 0.0


@pytest.mark.parametrize(
    ("text", "bounds", "told"),
    [
        ("abc", {"least": 0}, "X_S must be a number of seconds, at least 0; got 'abc'"),
        ("nan", {"least": 0}, "got 'nan'"),
        ("inf", {"least": 0}, "got 'inf'"),
        ("-1", {"least": 0}, "at least 0"),
        ("0", {"least": 0, "strictly_above_least": True}, "more than 0"),
        ("7", {"least": 0, "most": 6}, "at least 0 and at most 6"),
        ("1.5", {"least": 0, "whole": True}, "got '1.5'"),
    ],
)
def test_what_is_not_a_usable_number_names_the_variable(text, bounds, told):
    with pytest.raises(Oops) as caught:
        read(text, **bounds)
    assert told in str(caught.value) and str(caught.value).startswith("X_S must be")
