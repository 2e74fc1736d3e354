"""JSON for frames without importing `json`, whose decoder compiles regular expressions when imported (re, enum
and functools behind it: milliseconds of every worker's cold start).

The same C accelerator `json` itself uses, configured as json.dumps(allow_nan=False, separators=(",", ":")) and
json.loads do. Anything the fast path does not take (leading whitespace, malformed input) goes to `json` itself,
so results and error messages are json's own.
"""

from __future__ import annotations

try:
    from _json import encode_basestring_ascii, make_encoder, make_scanner
except ImportError:  # an interpreter without the accelerator: json's pure Python code
    make_encoder = make_scanner = None

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class _DecoderSettings:
    """What _json.make_scanner reads from a json.JSONDecoder, set as json.loads sets them."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}.__getitem__


_scan = make_scanner(_DecoderSettings()) if make_scanner is not None else None


def _not_serializable(value: Any) -> Any:
    raise TypeError(f"Object of type {value.__class__.__name__} is not JSON serializable")


def dumps_ascii(value: Any) -> str:
    """json.dumps(value, separators=(",", ":"), allow_nan=False): TypeError or ValueError when it is not JSON."""
    if make_encoder is None:
        import json

        return json.dumps(value, separators=(",", ":"), allow_nan=False)
    # A new encoder per call: its circular-reference markers must start empty.
    encoder = make_encoder({}, _not_serializable, encode_basestring_ascii, None, ":", ",", False, False, False)
    return "".join(encoder(value, 0))


def loads(text: str) -> Any:
    """json.loads(text)."""
    if _scan is not None:
        try:
            value, end = _scan(text, 0)
        except (StopIteration, ValueError):
            pass
        else:
            if end == len(text):
                return value
    import json

    return json.loads(text)
