"""The worker's JSON (the C accelerator, without importing json) must be json's, results and errors alike."""

from __future__ import annotations

import json
import math

import pytest

from plugyard_worker.jsoncodec import dumps_ascii, loads

VALUES = [
    {"op": "call", "id": 1, "action": "echo", "args": {"text": "h\u00e9llo \U0001f600 \ud800", "n": [1, 2.5, -0.0, 1e300, None, True]}},
    {1: "int key", 2.5: "float key", None: "none", True: "bool"},
    [],
    "text",
    {"nested": [[[{"a": {}}]]]},
]


@pytest.mark.parametrize("value", VALUES)
def test_dumps_is_json_dumps(value: object) -> None:
    assert dumps_ascii(value) == json.dumps(value, separators=(",", ":"), allow_nan=False)


@pytest.mark.parametrize("value", [{1, 2}, {"x": math.nan}, {"x": math.inf}, {(1, 2): "tuple key"}, object()])
def test_dumps_refuses_what_json_refuses(value: object) -> None:
    with pytest.raises((TypeError, ValueError)) as ours:
        dumps_ascii(value)
    with pytest.raises((TypeError, ValueError)) as theirs:
        json.dumps(value, separators=(",", ":"), allow_nan=False)
    assert (type(ours.value), str(ours.value)) == (type(theirs.value), str(theirs.value))


def test_circular_reference() -> None:
    looped: list = []
    looped.append(looped)
    with pytest.raises(ValueError, match="Circular"):
        dumps_ascii(looped)
    assert dumps_ascii([1]) == "[1]"  # the failed call left nothing behind


@pytest.mark.parametrize("text", [json.dumps(v) for v in VALUES[:1] + VALUES[2:]] + [' {"a": 1} ', "NaN", "[Infinity, -Infinity]", "12", "1.5e3"])
def test_loads_is_json_loads(text: str) -> None:
    assert repr(loads(text)) == repr(json.loads(text))


@pytest.mark.parametrize("text", ["", "{", '{"a": 1} x', "[1,]", '"\x01"', "{'a': 1}", "\ufeff{}"])
def test_loads_refuses_what_json_refuses(text: str) -> None:
    with pytest.raises(ValueError) as ours:
        loads(text)
    with pytest.raises(ValueError) as theirs:
        json.loads(text)
    assert (type(ours.value), str(ours.value)) == (type(theirs.value), str(theirs.value))
