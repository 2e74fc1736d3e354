"""The size and depth check that runs on raw JSON before any decoder: exact at the limit, blind to strings,
linear, and silent about what only the decoder can judge."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import given, settings, strategies as st

from plugyard_core.json_limits import MAX_BYTES, MAX_DEPTH, JsonLimitExceeded, check_json_limits, nesting_depth


def nested(depth: int, inner: bytes = b"1") -> bytes:
    return b'{"a":' * (depth // 2) + b"[" * (depth - depth // 2) + inner + b"]" * (depth - depth // 2) + b"}" * (depth // 2)


def python_depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max(map(python_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(python_depth, value), default=0)
    return 0


def test_depth_exactly_at_the_limit_passes_and_one_more_fails():
    at_limit = nested(MAX_DEPTH)
    assert nesting_depth(at_limit) == MAX_DEPTH == python_depth(json.loads(at_limit))
    check_json_limits(at_limit)
    with pytest.raises(JsonLimitExceeded, match=rf"JSON nested {MAX_DEPTH + 1} levels deep, deeper than the {MAX_DEPTH}-level limit"):
        check_json_limits(nested(MAX_DEPTH + 1))
    check_json_limits(nested(3), max_depth=3)
    with pytest.raises(JsonLimitExceeded, match="nested 4 levels deep, deeper than the 3-level limit"):
        check_json_limits(nested(4), max_depth=3)


def test_wide_documents_are_shallow():
    wide = json.dumps({"results": [{"name": f"p{i}", "tags": [[], {}], "x": {"y": [i]}} for i in range(5000)]}).encode()
    assert nesting_depth(wide) == 5 == python_depth(json.loads(wide))
    check_json_limits(wide)


@pytest.mark.parametrize(
    "document, depth",
    [
        (b'{"a": "[[[[[[[[[[{{{{{{{{{{"}', 1),
        (b'["\\"[[[[[[", "]]]"]', 1),  # an escaped quote does not end the string
        (b'["\\\\", [[1]]]', 3),  # an escaped backslash does not escape the closing quote
        (b'["\\\\\\"[[[["]', 1),  # three backslashes: an escaped backslash, then an escaped quote
        (b'["a\\\\\\\\", ["b"]]', 2),
        (b'[""[[[[""]', 5),  # not JSON, but the brackets between the strings are structure
        (b'"only a string with [[[ in it"', 0),
        (b"42", 0),
        (b"", 0),
        (b"]]]][[", 0),  # unbalanced: the decoder stops at the first "]"
        ('["ünïcødé [", {"k": "☃"}]'.encode(), 2),
        ('[["\\u005b"]]', 2),
    ],
)
def test_brackets_inside_strings_do_not_count(document, depth):
    assert nesting_depth(document) == depth


def test_many_bracketed_strings_do_not_count():
    document = json.dumps({"text": ["[" * 200, "]" * 200, "{" * 200, '\\"[' * 100] * 10}).encode()
    assert nesting_depth(document) == 2
    check_json_limits(document)


def test_deep_document_is_rejected_with_its_depth():
    with pytest.raises(JsonLimitExceeded, match="JSON nested 100000 levels deep, deeper than the 64-level limit"):
        check_json_limits(b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(JsonLimitExceeded, match="nested 3000 levels deep"):
        check_json_limits(b'{"data":' + nested(2999) + b"}")
    with pytest.raises(JsonLimitExceeded, match="nested 500 levels deep"):
        check_json_limits(b"[" * 500)  # unterminated: still refused before the decoder recurses into it


def test_size_limit():
    check_json_limits(b" " * 100 + b"[]", max_bytes=102)
    with pytest.raises(JsonLimitExceeded, match="message of 103 bytes exceeds the 102-byte limit"):
        check_json_limits(b" " * 101 + b"[]", max_bytes=102)
    with pytest.raises(JsonLimitExceeded, match=f"exceeds the {MAX_BYTES}-byte limit"):
        check_json_limits(b"[" + b"1," * (MAX_BYTES // 2) + b"1]")


def test_invalid_utf8_and_malformed_json_are_left_to_the_decoder():
    for document in (b'["\xff\xfe", [1]]', b"\xc3\x28", b"[1, 2", b"{'a': 1}", b"not json at all", b"[1]]"):
        check_json_limits(document)
        with pytest.raises(ValueError) as decoding:
            json.loads(document)
        assert not isinstance(decoding.value, JsonLimitExceeded)


def test_utf16_and_utf32_documents_are_read_as_json_loads_reads_them():
    document = json.dumps(["\"[[[", [[{"a": "]]]\\"}]]], ensure_ascii=False)
    for encoding in ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be", "utf-16"):
        raw = document.encode(encoding)
        assert nesting_depth(raw) == 4 == python_depth(json.loads(raw)), encoding
    with pytest.raises(JsonLimitExceeded):
        check_json_limits(("[" * 65 + "]" * 65).encode("utf-16-le"))
    # Looks like UTF-16 to json.loads but does not decode: counted as the bytes a UTF-8 decoder would read.
    with pytest.raises(JsonLimitExceeded, match="nested 100 levels"):
        check_json_limits(b"[\x00" + b"[" * 99)


def test_str_bytearray_and_memoryview_are_accepted():
    for data in (nested(10).decode(), bytearray(nested(10)), memoryview(nested(10))):
        assert nesting_depth(data) == 10


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(alphabet=st.sampled_from('ab"\\[]{}é\n\x00')),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(alphabet=st.sampled_from('k"\\[{')), children, max_size=4),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(json_values, st.booleans())
def test_depth_matches_the_decoded_value(value, ascii_only):
    document = json.dumps(value, ensure_ascii=ascii_only).encode()
    assert nesting_depth(document) == python_depth(value)


def test_speed_is_linear_and_small_beside_decoding():
    """One megabyte of typical JSON in a few milliseconds; 1 MB of nothing but brackets stays linear."""
    typical = json.dumps([{"name": f"plugin-{i}", "summary": "a plugin that [does] {things} \"well\"", "tags": ["x", "y"],
                           "permissions": {"network": ["api.example.org:443"], "filesystem": [{"path": "/tmp", "mode": "read"}]}}
                          for i in range(4600)]).encode()
    brackets = b"[" + b"[[[[[[[[[[]]]]]]]]]]," * 49_000 + b"[]]"
    assert 900_000 < len(typical) < 1_100_000 and 900_000 < len(brackets) < 1_100_000

    def best_of_3(document: bytes) -> float:
        timings = []
        for _ in range(3):
            started = time.perf_counter()
            check_json_limits(document)
            timings.append(time.perf_counter() - started)
        return min(timings)

    # Generous bounds for a shared 2-core machine: measured ~5 ms and ~20 ms; json.loads takes ~12 ms and ~90 ms.
    assert best_of_3(typical) < 0.1
    assert best_of_3(brackets) < 0.3
    assert best_of_3(brackets[: len(brackets) // 4]) < best_of_3(brackets)


def test_loads_within_limits_checks_before_it_decodes():
    from plugyard_core.json_limits import loads_within_limits

    assert loads_within_limits(b'{"a": [1]}') == {"a": [1]}
    with pytest.raises(JsonLimitExceeded):
        loads_within_limits(b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(ValueError) as not_json:
        loads_within_limits(b"{not json")
    assert not isinstance(not_json.value, JsonLimitExceeded)
