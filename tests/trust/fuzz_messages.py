"""Hostile message bodies for the bus fuzz test (`test_fuzz_bus.py`), drawn with hypothesis.

Each body says what it is by construction, so that the test knows what a consumer must do with it without asking
the code under test: its JSON (`Json`), whether it is a CloudEvent by `schemas/json/CloudEvent.json`, its type, and
whether its data fits the model of that type. A body near or above 1 MiB is kept as a size and built when sent.
Every CloudEvent's id is `ID_PLACEHOLDER`, which the sender replaces by a unique id of the same length.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

MiB = 1024 * 1024
EVENT_MAX_BYTES = MiB  # the stream's max_msg_size and every consumer's limit
RPC_MAX_BYTES = 7 * MiB + MiB // 2  # under the server's 8 MB max_payload, with room for headers
ID_PLACEHOLDER = "@@FUZZ-ID@@@"  # 12 characters, as `message_id` makes them
NAN_SENTINEL = "@@FUZZ-NAN@@"
BAD_BYTES_SENTINEL = "@@FUZZ-BYTES@@"

PUBLISHED = "dev.plugyard.registry.VersionPublished"
QUARANTINED = "dev.plugyard.registry.VersionQuarantined"
SCANNED = "dev.plugyard.scanner.ScanCompleted"
INSTALLED = "dev.plugyard.loader.PluginInstalled"


def message_id(index: int) -> str:
    return f"fz{index:010d}"


class Json(str, Enum):
    INVALID = "invalid"  # not JSON: broken syntax, invalid UTF-8, trailing garbage
    NAN = "nan"  # NaN or Infinity literals (Python's json reads them; RFC 8259 has no such thing)
    DEEP = "deep"  # nested 100 to 100,000 levels
    NON_OBJECT = "non-object"  # a JSON value that is not an object
    OBJECT = "object"  # a JSON object within every limit
    LENIENT = "lenient"  # what a decoder may take or refuse (a byte order mark, a surrogate encoded as UTF-8)


@dataclass(frozen=True)
class Body:
    family: str
    json: Json
    cloudevent: bool = False  # a CloudEvent by the published schema (with json == OBJECT)
    event_type: str | None = None
    data_fits: bool | None = None  # its data fits its type's model; None where no model applies
    payload: bytes = b""
    size: int = 0  # > 0: a huge body, built by `build` at this size

    def build(self, message_id: str) -> bytes:
        raw = _huge(self) if self.size else self.payload
        return raw.replace(ID_PLACEHOLDER.encode(), message_id.encode())

    @property
    def must_be_rejected(self) -> bool:
        """Whatever consumes it must refuse it: not strict JSON within the limits, or not a CloudEvent."""
        return self.json in (Json.INVALID, Json.NAN, Json.DEEP, Json.NON_OBJECT) or (self.json == Json.OBJECT and not self.cloudevent)

    @property
    def is_clean_cloudevent(self) -> bool:
        return self.json == Json.OBJECT and self.cloudevent


def _huge(body: Body) -> bytes:
    """A body of exactly `body.size` bytes: a CloudEvent (or a request object) padded with a string, or garbage."""
    if body.family == "huge-garbage":  # an unterminated string of bytes that are not UTF-8
        head = b'{"specversion":"1.0","id":"' + ID_PLACEHOLDER.encode() + b'","data":"'
        return head + b"\xc3\x28" * ((body.size - len(head)) // 2) + b"\xff" * ((body.size - len(head)) % 2)
    template = json.loads(body.payload)
    template["pad"] = ""
    before, pad, after = json.dumps(template, separators=(",", ":")).encode().rpartition(b'"pad":""')  # the last key
    return before + b'"pad":"' + b"x" * max(0, body.size - len(before) - len(pad) - len(after)) + b'"' + after


# ---- JSON values, clean: finite numbers, UTF-8 text without surrogates, shallow. Drawing is what costs (about 0.1 ms a
# choice): strings mostly come from a curated list, one choice each, and free text only where it matters.

CURATED = [
    "", "a", "0", "1.0", "null", "NaN", "true", "x" * 300, " ", "\x00", "\u202eevil", "\u00e9t\u00e9", "\U0001f600", "../../etc/passwd",
    "' OR 1=1 --", "%s%n%x", "${jndi:ldap://x}", "<script>", "\\u0000", "line\nbreak", "\ufeffbom", "\u0130", "\U0001d518", "plugyard.evt.>",
]
STRINGS = st.sampled_from(CURATED)
TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=16)
SCALARS = st.none() | st.booleans() | st.sampled_from([0, -1, 2**31, 2**53 + 1, 2**63 - 1, -(2**63), 0.5, -0.0, 1e308, 5e-324]) | STRINGS | TEXT
JSON_VALUES = st.recursive(SCALARS, lambda kids: st.lists(kids, max_size=3) | st.dictionaries(STRINGS | TEXT, kids, max_size=3), max_leaves=6)
NON_OBJECTS = st.recursive(SCALARS, lambda kids: st.lists(kids, max_size=3), max_leaves=6)
TIMES = st.sampled_from([None, "2026-12-01T10:00:00Z", "2026-12-01T10:00:00.123456+02:00", "1999-12-31T23:59:59-05:00"])
FOREIGN_TYPES = st.sampled_from([
    "com.acme.order.Shipped", "dev.plugyard.registry.VersionYanked", "dev.plugyard.loader.PluginCrashed", "dev.plugyard.ledger.MessageRejected",
    "dev.plugyard.registry.MessageRejected", "dev.plugyard.scanner.Scan", "DEV.PLUGYARD.REGISTRY.VERSIONPUBLISHED", "x", "\u00e9v\u00e9nement",
    PUBLISHED, SCANNED, QUARANTINED, INSTALLED,
]) | st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=16)
EXTENSIONS = st.dictionaries(st.sampled_from(["aggregateid", "aggregateversion", "traceparent", "fuzzext", "partitionkey"]), SCALARS, max_size=2)


def _dump(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


@st.composite
def envelopes(draw, event_type: st.SearchStrategy[str], data: st.SearchStrategy[Any]) -> dict[str, Any]:
    """A CloudEvent by the schema: the required attributes, some optional ones, spec-shaped extensions."""
    event: dict[str, Any] = {
        "specversion": "1.0", "id": ID_PLACEHOLDER, "source": draw(st.sampled_from(["fuzz/bus", "plugyard/registry", "urn:x", "/a b", "\u00e9"])),
        "type": draw(event_type), "datacontenttype": "application/json", "data": draw(data),
    }
    moment = draw(TIMES)
    if moment:
        event["time"] = moment
    subject = draw(st.none() | STRINGS)
    if subject is not None:
        event["subject"] = subject
    reserved = set(event) | {"dataschema", "time", "subject"}
    event.update({k: v for k, v in draw(EXTENSIONS).items() if k not in reserved})
    return event


@functools.cache
def typed_envelopes(event_type: str, fits: bool = True) -> st.SearchStrategy[dict[str, Any]]:
    return envelopes(st.just(event_type), valid_data(event_type) if fits else wrong_data(event_type))


@functools.cache
def foreign_envelopes(event_type: str | None) -> st.SearchStrategy[dict[str, Any]]:
    """Any type but `event_type`, with any data."""
    return envelopes(FOREIGN_TYPES.filter(lambda t: t != event_type) if event_type else FOREIGN_TYPES, JSON_VALUES)


# ---- the data models of the consumed event types: valid-shaped values, and what each field must not be

NAMES = st.builds(lambda s: f"nope-{s}", STRINGS | TEXT)  # never a stored plugin's name
STR_FIELD, INT_FIELD, OPT_INT_FIELD, DICT_FIELD, LIST_FIELD, BOOL_FIELD, VERDICT_FIELD, TRIGGER_FIELD, CAPS_FIELD = (
    "str", "int", "opt-int", "dict", "list", "bool", "verdict", "trigger", "caps",
)
MODELS: dict[str, dict[str, str]] = {
    PUBLISHED: {
        "name": STR_FIELD, "version": STR_FIELD, "cid": STR_FIELD, "publisher": STR_FIELD, "signature": STR_FIELD, "manifest": DICT_FIELD,
        "manifest_sha256": STR_FIELD, "size": INT_FIELD, "sha256": STR_FIELD, "published_at": STR_FIELD,
    },
    QUARANTINED: {
        "name": STR_FIELD, "version": STR_FIELD, "cid": STR_FIELD, "reason": STR_FIELD, "findings": LIST_FIELD, "by": STR_FIELD,
        "override": BOOL_FIELD, "scan_no": OPT_INT_FIELD,
    },
    INSTALLED: {"name": STR_FIELD, "version": STR_FIELD, "host": STR_FIELD, "cid": STR_FIELD, "status": STR_FIELD},
    SCANNED: {
        "name": STR_FIELD, "version": STR_FIELD, "cid": STR_FIELD, "verdict": VERDICT_FIELD, "reason": STR_FIELD, "findings": LIST_FIELD,
        "findings_total": INT_FIELD, "capabilities": CAPS_FIELD, "scanner_version": STR_FIELD, "rules_version": STR_FIELD,
        "policy_sha256": STR_FIELD, "duration_ms": INT_FIELD, "trigger": TRIGGER_FIELD, "scan_no": INT_FIELD,
    },
}
GOOD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    STR_FIELD: STRINGS, INT_FIELD: st.sampled_from([0, 1, -1, 2**31, 2**53 + 1, 2**63 - 1]), OPT_INT_FIELD: st.sampled_from([None, 0, 1, 2**40]),
    DICT_FIELD: st.dictionaries(STRINGS, SCALARS, max_size=3), LIST_FIELD: st.lists(st.dictionaries(STRINGS, SCALARS, max_size=2), max_size=2),
    BOOL_FIELD: st.booleans(), VERDICT_FIELD: st.sampled_from(["cleared", "warned", "quarantined"]),
    TRIGGER_FIELD: st.sampled_from(["published", "rescan"]),
    CAPS_FIELD: st.lists(st.sampled_from(["network", "filesystem_read", "subprocess", "env", "dynamic_code", "native"]), max_size=3),
}
# Values pydantic refuses for each kind of field even in lax mode (no number or bool that it would coerce).
WRONG_VALUES: dict[str, list[Any]] = {
    STR_FIELD: [None, 5, 1.5, True, [], {}, ["x"]], INT_FIELD: [None, "5x", "", 1.5, [], {}], OPT_INT_FIELD: ["5x", "", 1.5, [], {}],
    DICT_FIELD: [None, [], "x", 5], LIST_FIELD: [None, "x", 5, {}], BOOL_FIELD: [None, "maybe", 2, [], {}],
    VERDICT_FIELD: [None, "maybe", 5, "CLEARED"], TRIGGER_FIELD: [None, "push", 5], CAPS_FIELD: [None, "network", ["teleport"], 5],
}
FIELD_NAMES = {event_type: st.sampled_from(sorted(model)) for event_type, model in MODELS.items()}
WRONG_VALUE_CHOICES = {kind: st.sampled_from(values) for kind, values in WRONG_VALUES.items()}
TYPED = st.sampled_from(sorted(MODELS))
NUMERIC_FIELDS = {
    t: st.sampled_from(numeric) for t, model in MODELS.items() if (numeric := [k for k, kind in model.items() if kind in (INT_FIELD, OPT_INT_FIELD)])
}


@functools.cache
@st.composite
def valid_data(draw, event_type: str) -> dict[str, Any]:
    model = MODELS[event_type]
    data = {name: draw(GOOD_VALUES[kind]) for name, kind in model.items()}
    data["name"] = draw(NAMES)
    return data


@functools.cache
@st.composite
def wrong_data(draw, event_type: str) -> Any:
    """Data the type's model refuses: not an object, a required field missing, or a field of the wrong type."""
    how = draw(st.sampled_from(["not-object", "missing", "wrong-type", "wrong-type", "random-object"]))
    if how == "not-object":
        return draw(NON_OBJECTS)
    if how == "random-object":  # random keys, so the required fields are missing
        return {f"x{k}": v for k, v in draw(st.dictionaries(STRINGS | TEXT, JSON_VALUES, max_size=3)).items()}
    data = draw(valid_data(event_type))
    name = draw(FIELD_NAMES[event_type])
    if how == "missing":
        del data[name]
    else:
        data[name] = draw(WRONG_VALUE_CHOICES[MODELS[event_type][name]])
    return data


# ---- the families

def _cloudevent_body(family: str, event: dict[str, Any], data_fits: bool | None) -> Body:
    return Body(family, Json.OBJECT, cloudevent=True, event_type=event["type"], data_fits=data_fits, payload=_dump(event))


@functools.cache
@st.composite
def good(draw, event_type: str | None) -> Body:
    """A clean CloudEvent: of the subject's type with valid-shaped data where the subject has a model, else any type."""
    if event_type:
        return _cloudevent_body("valid-shaped", draw(typed_envelopes(event_type)), True)
    return _cloudevent_body("good", draw(foreign_envelopes(None)), None)


@functools.cache
@st.composite
def foreign_type(draw, event_type: str | None) -> Body:
    return _cloudevent_body("foreign-type", draw(foreign_envelopes(event_type)), None if event_type is None else False)


@functools.cache
@st.composite
def data_wrong(draw, event_type: str | None) -> Body:
    typed = event_type or draw(TYPED)
    return _cloudevent_body("wrong-data", draw(typed_envelopes(typed, fits=False)), False if event_type else None)


@functools.cache
@st.composite
def not_json(draw, event_type: str | None) -> Body:
    text = draw(good(event_type)).payload
    how = draw(st.sampled_from(["truncated", "trailing", "binary", "js", "empty", "control"]))
    if how == "truncated":  # a proper prefix of an object's text is never a JSON text
        payload = text[: draw(st.integers(0, len(text) - 1))]
    elif how == "trailing":
        payload = text + draw(st.sampled_from([b"x", b"}", b",", b" {}", b"\x00", b"\n]"]))
    elif how == "binary":
        # First bytes that no decoder reads as the start of JSON, in UTF-8 or in the UTF-16/32 that json.loads detects.
        payload = draw(st.sampled_from([b"<", b"'", b"\xfa", b"#", b"x", b"\x1f"])) + draw(st.binary(max_size=300))
    elif how == "js":
        payload = draw(st.sampled_from([
            text.replace(b'"specversion":', b"specversion:", 1), text[:-1] + b",}", b"/* c */" + text, text.replace(b'"', b"'"),
            text.replace(b'"specversion":"1.0"', b'"specversion":undefined', 1), b'{"a":0x10}', b'{"a":012}', b'{"a":+1}',
            b'{"a":.5}', b'{"a":"\\x41"}', b'{"a":"\x00"}', b"\x00\x00", b"[1,,2]", b"tru", b"nul", b'"unterminated',
        ]))
    elif how == "empty":
        payload = draw(st.sampled_from([b"", b" ", b"\n\t ", b"\r\n"]))
    else:  # a raw control character inside a string
        payload = text.replace(b'"1.0"', b'"1.\n0"', 1) if b'"1.0"' in text else b'{"a":"\x01"}'
    return Body(f"invalid-json-{how}", Json.INVALID, payload=payload)


@functools.cache
@st.composite
def not_utf8(draw, event_type: str | None) -> Body:
    event = draw(foreign_envelopes(None) if event_type is None else typed_envelopes(event_type))
    where = draw(st.sampled_from(["source", "subject", "data"]))
    event[where] = BAD_BYTES_SENTINEL
    bad = draw(st.sampled_from([b"\xff", b"\xfe\xff", b"\xc3\x28", b"\xa0\xa1", b"\xe2\x28\xa1", b"\xf0\x28\x8c\xbc", b"\xc0\xaf",
                                b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"caf\xe9"]))
    payload = _dump(event).replace(BAD_BYTES_SENTINEL.encode(), bad)
    if bad == b"\xed\xa0\x80":  # a surrogate encoded in UTF-8: not UTF-8 (RFC 3629), yet json.loads reads it ("surrogatepass")
        return Body("invalid-utf8-surrogate", Json.LENIENT, payload=payload)
    return Body("invalid-utf8", Json.INVALID, payload=payload)


@functools.cache
@st.composite
def nan(draw, event_type: str | None) -> Body:
    typed = event_type or PUBLISHED
    event = draw(typed_envelopes(typed) if event_type else foreign_envelopes(None))
    where = draw(st.sampled_from(["data-field", "data", "extension", "whole", "numeric-field"]))
    if where == "whole":
        return Body("nan", Json.NAN, payload=draw(st.sampled_from([b"NaN", b"Infinity", b"-Infinity", b"[NaN]"])))
    if where == "data":
        event["data"] = NAN_SENTINEL
    elif where == "extension":
        event["fuzznan"] = NAN_SENTINEL
    elif where == "numeric-field" and isinstance(event["data"], dict) and event_type and typed in NUMERIC_FIELDS:
        event["data"][draw(NUMERIC_FIELDS[typed])] = NAN_SENTINEL
    else:
        event["data"] = {**(event["data"] if isinstance(event["data"], dict) else {}), "fuzz": [1, NAN_SENTINEL]}
    literal = draw(st.sampled_from([b"NaN", b"Infinity", b"-Infinity"]))
    return Body("nan", Json.NAN, cloudevent=True, event_type=typed, payload=_dump(event).replace(f'"{NAN_SENTINEL}"'.encode(), literal))


@functools.cache
@st.composite
def deep(draw, event_type: str | None) -> Body:
    depth = draw(st.integers(100, 100_000))
    opener, leaf, closer = draw(st.sampled_from([(b"[", b"", b"]"), (b'{"a":', b"1", b"}"), (b'[{"a":', b"[]", b"}]")]))
    nested = opener * depth + leaf + closer * depth
    where = draw(st.sampled_from(["bare", "data", "extension", "data-field"]))
    if where == "bare":
        return Body(f"deep-{where}", Json.DEEP, payload=nested)
    typed = event_type or draw(TYPED)
    event = draw(typed_envelopes(typed))
    event["data"]["manifest" if where == "data-field" else "fuzz"] = NAN_SENTINEL
    if where == "extension":
        event["deep"] = event["data"].pop("fuzz")
    elif where == "data":
        event["data"] = NAN_SENTINEL
    return Body(f"deep-{where}", Json.DEEP, payload=_dump(event).replace(f'"{NAN_SENTINEL}"'.encode(), nested, 1))


@functools.cache
@st.composite
def not_cloudevent(draw, event_type: str | None) -> Body:
    """JSON, but not a CloudEvent: not an object, an object without the attributes, or one attribute broken."""
    how = draw(st.sampled_from(["non-object", "random-object", "missing", "attribute", "attribute"]))
    if how == "non-object":
        return Body("not-cloudevent-value", Json.NON_OBJECT, payload=_dump(draw(NON_OBJECTS)))
    if how == "random-object":
        value = draw(st.dictionaries(STRINGS | TEXT, JSON_VALUES, max_size=4))
        value.pop("specversion", None)
        return Body("not-cloudevent-object", Json.OBJECT, payload=_dump(value))
    event = draw(good(event_type))
    parsed = json.loads(event.payload)
    name = draw(st.sampled_from(["specversion", "id", "source", "type", "time", "subject", "datacontenttype", "dataschema"]))
    if how == "missing" and name in ("specversion", "id", "source", "type"):
        del parsed[name]
    else:
        long = "x" * (1025 if name in ("source", "subject") else 513)
        wrong = {
            "specversion": ["0.3", "1", "", "1.0.0", 1.0, None, ["1.0"]], "id": ["", 5, None, [], long], "source": ["", 5, None, {}, long],
            "type": ["", 7, None, [], long], "time": ["yesterday", "2024-13-45T99:00:00Z", "", [], {}], "subject": [5, [], {}, long],
            "datacontenttype": [5, [], {}], "dataschema": [5, [], {}],
        }[name]
        parsed[name] = draw(st.sampled_from(wrong))
    return Body(f"not-cloudevent-{name}", Json.OBJECT, payload=_dump(parsed))


@functools.cache
@st.composite
def bom(draw, event_type: str | None) -> Body:
    event = draw(good(event_type))
    return replace(event, family="bom", json=Json.LENIENT, payload=b"\xef\xbb\xbf" + event.payload)


@functools.cache
@st.composite
def huge(draw, event_type: str | None, limit: int) -> Body:
    """Around and above the limit (`limit` = 1 MiB for events, under 8 MB for requests)."""
    size = draw(st.integers(limit - 8192, limit + 8192) | st.integers(limit // 2, limit * 3 // 2) if limit == EVENT_MAX_BYTES
                else st.integers(MiB, limit))
    if draw(st.integers(0, 3)) == 0:
        return Body("huge-garbage", Json.INVALID, size=size)
    template = draw(good(event_type))
    return replace(template, family="huge", payload=template.payload, size=size)


FAMILIES = {
    "not_json": not_json, "not_utf8": not_utf8, "not_cloudevent": not_cloudevent, "nan": nan, "deep": deep,
    "foreign_type": foreign_type, "data_wrong": data_wrong, "good": good, "bom": bom, "huge": huge,
}
# How often each family is sent, relative to the others (the huge ones about 1 in 100).
WEIGHTS = {
    "not_json": 12, "not_utf8": 6, "not_cloudevent": 14, "nan": 7, "deep": 7, "foreign_type": 10, "data_wrong": 12, "good": 12, "bom": 1,
    "huge": 1,
}


def family_bodies(family: str, event_type: str | None, limit: int) -> st.SearchStrategy[Body]:
    """The family's bodies for a subject of `event_type` (None: any type fits it); `limit` is the size a body of the
    subject may have (1 MiB for events, under 8 MB for requests)."""
    return huge(event_type, limit) if family == "huge" else FAMILIES[family](event_type)


def draw_examples(strategy: st.SearchStrategy[Any], count: int) -> list[Any]:
    """`count` examples of `strategy`, the same on every run (derandomized, no database, generation only)."""
    drawn: list[Any] = []

    @settings(max_examples=count, derandomize=True, database=None, phases=[Phase.generate], deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(example: Any) -> None:
        drawn.append(example)

    collect()
    return drawn
