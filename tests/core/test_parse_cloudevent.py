"""What every event-sourced consumer accepts as a CloudEvent: pure, no server."""

from __future__ import annotations

import json

import pytest

from plugyard_core.tracking_es import Reject, parse_cloudevent

GOOD = {"specversion": "1.0", "id": "1", "source": "acme/x", "type": "com.acme.X", "data": {"n": 1}}


def test_a_cloudevent_is_parsed():
    assert parse_cloudevent(json.dumps(GOOD).encode()).data == {"n": 1}


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(literal):
    body = json.dumps(GOOD).replace('"n": 1', f'"n": [1, {literal}]').encode()
    with pytest.raises(Reject, match=f"not JSON: {literal} is not a JSON number"):
        parse_cloudevent(body)


@pytest.mark.parametrize(
    ("body", "reason"),
    [(b"{not json", "not JSON"), (b"[]", "not a CloudEvent: a JSON list"), (b'{"specversion": "1.0"}', "not a CloudEvent"),
     (b"[" * 100 + b"]" * 100, "deeper than the 64-level limit")],
)
def test_what_is_not_a_cloudevent_is_named(body, reason):
    with pytest.raises(Reject, match=reason):
        parse_cloudevent(body)
