"""The registry's search index: full-text ranking, filters, facets and newest-version collapse over plugin versions.

Two halves:
- text (`search_text.TextIndex`, Tantivy): BM25 with typo tolerance over the *distinct texts* of versions (most
  versions of a plugin share one), so status changes, yanks and new versions with an unchanged text never write
  to Tantivy;
- catalogue (here, plain Python): every version sits at a bit position ("slot"), and every filterable value has
  a posting (its slots, with the bitmap as a Python int). A filter is a handful of big-int ANDs/ORs.

Newest-version collapse without touching each version: every plugin owns a block of slots (byte-aligned, a guard
bit at the top) holding its versions newest first, from the bottom. "The newest matching version of each plugin"
is then the lowest set bit of each block, which three big-int operations give for all plugins at once:
`x = matches | guards; reps = x & ~(x - block_starts) & ~guards` (the borrow of `x - block_starts` stops at the
lowest set bit of each block; the guard keeps it from running into the next one). `total` and the facets are
popcounts of `reps` ANDed with postings, and a page is read off `reps` in name, time or score order, stopping as
soon as it is full, so a query costs about the same for 100 versions or 100,000.

Semantics:
- default statuses: cleared and warned (and pending when `allow_pending`), unyanked; `statuses` replaces the
  status set literally, `include_yanked` adds yanked versions;
- single-valued filters (licenses, statuses) match any of the values given; multi-valued ones (categories,
  keywords, authors, with_permissions) need all of them; without_permissions excludes each;
- matching is case-insensitive for categories, keywords, licenses, authors (whole entry, its name part or its
  e-mail) and publisher; facets count the lower-cased category, the license as first written and permission kinds;
- results: one hit per plugin, its newest matching version (PEP 440; non-PEP 440 strings sort below all others);
  `total` and `facets` count matching plugins (through that newest matching version), before pagination;
- sort: relevance (score, then name; without text: newest), name, newest (published_at of the hit, then name).

Writes: an upsert is plain Python (a few hundred microseconds) plus, when it brings a text not seen before, a
queued Tantivy add that a background thread commits (see `search_text`); until that commit lands, such texts are
matched in Python, so every search sees every write made before it. A big `upsert_many` (a rebuild) leaves laying
its versions out to the next search, or to `flush()`, which a caller can run after a bulk load.

With a directory, versions are kept in `catalogue.sqlite3` (the source of truth, written on every call) and the
text index in `text/` (derived, reconciled with the catalogue on open).
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from bisect import bisect_left, bisect_right, insort
from collections import Counter, OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import chain, compress, repeat
from operator import lshift, or_
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from plugyard_registry.search_text import FIRST_SCORED, TextIndex, TextMatch, query_words, text_key

STATUSES = ("pending", "cleared", "warned", "quarantined")
PERMISSION_KINDS = ("network", "filesystem", "subprocess", "env", "native")
SORTS = ("relevance", "name", "newest")
MAX_LIMIT = 1000
MAX_OFFSET = 10_000_000
MAX_TEXT = 500
MAX_WORDS = 16
MAX_VALUES = 50
RESULT_CACHE = 64
BIG_POSTING = 512  # a value held by this many versions is kept as a bitmap (20 KB at 160,000 slots) rather than a set
BULK = 200  # an upsert_many this big leaves laying versions out to the next search (or flush)
COMPACT_MIN = 1 << 16  # free slots (in abandoned blocks) tolerated before every block is laid out afresh
PLUGIN_WALK = 4  # a text query visits plugins one by one when that is this many times fewer than their versions
SMALL_FACETS = 256  # up to this many plugins, facets are counted hit by hit rather than by popcounts
FACET_FIELDS = {"cat": "category", "lic": "license", "perm": "permission"}


class InvalidSearch(ValueError):
    """A search query that cannot be run; `field` names the SearchQuery field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class InvalidDocument(ValueError):
    """A SearchDocument that cannot be indexed; `field` names the field at fault. Nothing is changed."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class SearchDocument:
    """One plugin version as search sees it."""

    name: str
    version: str
    summary: str
    description: str
    keywords: tuple[str, ...]
    categories: tuple[str, ...]
    license: str | None
    authors: tuple[str, ...]
    publisher: str
    permissions: tuple[str, ...]
    host: str
    status: str
    yanked: bool
    published_at: datetime


@dataclass(frozen=True)
class SearchQuery:
    text: str | None = None
    categories: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    licenses: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    publisher: str | None = None
    with_permissions: tuple[str, ...] = ()
    without_permissions: tuple[str, ...] = ()
    host_version: str | None = None
    statuses: tuple[str, ...] | None = None
    include_yanked: bool = False
    sort: str = "relevance"
    limit: int = 20
    offset: int = 0


@dataclass(frozen=True)
class SearchHit:
    name: str
    version: str
    score: float
    summary: str
    status: str
    yanked: bool
    keywords: tuple[str, ...]
    categories: tuple[str, ...]
    license: str | None
    authors: tuple[str, ...]
    publisher: str
    permissions: tuple[str, ...]
    host: str
    published_at: datetime


@dataclass(frozen=True)
class SearchResult:
    total: int
    hits: list[SearchHit]
    facets: dict[str, dict[str, int]]


# ---------------------------------------------------------------------------------------------------------------
# bitmaps


_NONZERO = re.compile(rb"[^\x00]")
_TOP_BIT = bytes(max(0, b.bit_length() - 1) for b in range(256))


def _bitmap(slots: Iterable[int], size: int | None = None) -> int:
    """The bitmap of `slots` (all below `size` when given)."""
    slots = slots if isinstance(slots, list | set) else list(slots)
    if not slots:
        return 0
    if size is None:
        size = max(slots) + 1
    if len(slots) < 512:  # few: set bits one by one in a byte buffer
        buf = bytearray((size + 7) >> 3)
        for s in slots:
            buf[s >> 3] |= 1 << (s & 7)
        return int.from_bytes(buf, "little")
    flags = bytearray(b"0") * size  # many: one ASCII digit per slot, written in C, read as a base-2 number
    deque(map(flags.__setitem__, slots, repeat(49)), maxlen=0)
    flags.reverse()
    return int(flags, 2)


def _bytes(bits: int) -> bytes:
    return bits.to_bytes((bits.bit_length() + 7) >> 3, "little")


def _one_per_byte(bits: int, count: int) -> list[int]:
    """The `count` set bits of `bits`, ascending, when no byte holds more than one (true of block representatives)."""
    raw = _bytes(bits)
    if count * 16 < len(raw):  # sparse: let the regex engine skip the zero bytes
        return [(m.start() << 3) | _TOP_BIT[m.group()[0]] for m in _NONZERO.finditer(raw)]
    at = list(compress(range(len(raw)), raw))
    return list(map(or_, map(lshift, at, repeat(3)), map(_TOP_BIT.__getitem__, map(raw.__getitem__, at))))


def _has(raw: bytes, slot: int) -> int:
    i = slot >> 3
    return raw[i] >> (slot & 7) & 1 if i < len(raw) else 0


class _Posting:
    """The slots holding a value: a set while few; past `BIG_POSTING`, a bitmap plus the slots added since it was
    last brought up to date (folded in by the next query that needs it, so a bulk load costs one fold)."""

    __slots__ = ("small", "bits", "added")

    def __init__(self) -> None:
        self.small: set[int] | None = set()
        self.bits = 0
        self.added: set[int] = set()

    def __bool__(self) -> bool:
        return bool(self.small) if self.small is not None else bool(self.bits or self.added)

    def add(self, slot: int) -> None:
        if self.small is None:
            self.added.add(slot)
        else:
            self.small.add(slot)
            if len(self.small) >= BIG_POSTING:
                self.bits, self.small = _bitmap(self.small), None

    def discard(self, slot: int) -> None:
        if self.small is not None:
            self.small.discard(slot)
        else:
            self.added.discard(slot)
            self.bits &= ~(1 << slot)

    def bitmap(self) -> int:
        if self.small is not None:
            return _bitmap(self.small)
        if self.added:
            self.bits |= _bitmap(self.added)
            self.added.clear()
        return self.bits


def _capacity(versions: int) -> int:
    """Slots for a block of `versions` and its guard bit: 8, 16, 24, 32, 48, 64, 96, 128, 192, ... (multiples of 8
    keep blocks byte-aligned; few sizes let a freed block be reused)."""
    need = versions + 1
    if need <= 24:
        return max(8, (need + 7) & ~7)
    power = 1 << (need - 1).bit_length()
    return power * 3 // 4 if power * 3 // 4 >= need else power


# ---------------------------------------------------------------------------------------------------------------
# documents


_MEMO_MAX = 50_000
_version_keys: dict[str, tuple[Any, ...]] = {}
_names: dict[str, str] = {}
_OWN = {(status, yanked): (("status", status), ("yanked", True)) if yanked else (("status", status),)
        for status in STATUSES for yanked in (False, True)}
_attribute_terms: dict[tuple[Any, ...], tuple[frozenset[tuple[str, Any]], tuple[str, ...], tuple[tuple[str, str], ...]]] = {}


def _memo(cache: dict[Any, Any], key: Any, make: Any) -> Any:
    value = cache.get(key)
    if value is None:
        if len(cache) >= _MEMO_MAX:
            cache.clear()
        value = cache[key] = make()
    return value


def _version_key(text: str) -> tuple[Any, ...]:
    try:
        return (1, Version(text), text)
    except InvalidVersion:
        return (0, text, text)


def _timestamp(moment: datetime) -> float:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


_STR = {str}


def _strings(value: Any, field: str) -> tuple[str, ...]:
    if (value.__class__ is not tuple and value.__class__ is not list) or (value and set(map(type, value)) != _STR):
        raise InvalidDocument(field, "expected a sequence of strings")
    return tuple(value)


def _author_aliases(author: str) -> set[str]:
    """'Jane Doe <jane@example.org>' matches 'jane doe <jane@example.org>', 'jane doe' and 'jane@example.org'."""
    full = author.strip().lower()
    aliases = {full}
    if "<" in full and full.endswith(">"):
        name, _, email = full[:-1].partition("<")
        aliases |= {name.strip(), email.strip()}
    aliases.discard("")
    return aliases


def _attributes(keywords: tuple[str, ...], categories: tuple[str, ...], license: str, authors: tuple[str, ...], publisher: str,
                permissions: tuple[str, ...], host: str) -> tuple[frozenset[tuple[str, Any]], tuple[str, ...], tuple[tuple[str, str], ...]]:
    """The filter terms of what versions of a plugin usually share (memoized, so versions share one set), the
    permissions in order, and the facet terms."""
    unknown = set(permissions) - set(PERMISSION_KINDS)
    if unknown:
        raise InvalidDocument("permissions", f"unknown kind(s) {sorted(unknown)}; known: {', '.join(PERMISSION_KINDS)}")
    terms: set[tuple[str, Any]] = {("host", host.strip()), ("pub", publisher.strip().lower())}
    terms.update(("cat", c.strip().lower()) for c in categories if c.strip())
    terms.update(("kw", k.strip().lower()) for k in keywords if k.strip())
    if license:
        terms.add(("lic", license.lower()))
    terms.update(("author", a) for author in authors for a in _author_aliases(author))
    terms.update(("perm", p) for p in permissions)
    facets = tuple(sorted(t for t in terms if t[0] in FACET_FIELDS))
    return frozenset(terms), tuple(p for p in PERMISSION_KINDS if p in permissions), facets


@dataclass(frozen=True)
class _Prepared:
    doc: SearchDocument
    name: str
    vkey: tuple[Any, ...]
    tkey: str
    shared: frozenset[tuple[str, Any]]  # filter terms (one object for all versions alike)
    own: tuple[tuple[str, Any], ...]  # status, yanked
    ts: float
    permissions: tuple[str, ...]
    license_key: str
    license_shown: str
    facet_terms: tuple[tuple[str, str], ...]


def _prepare(doc: SearchDocument) -> _Prepared:
    if not isinstance(doc, SearchDocument):
        raise InvalidDocument("document", f"expected a SearchDocument, got {type(doc).__name__}")
    if set(map(type, (doc.name, doc.version, doc.summary, doc.description, doc.publisher, doc.host, doc.status))) != _STR:
        for field in ("name", "version", "summary", "description", "publisher", "host", "status"):
            if type(getattr(doc, field)) is not str:
                raise InvalidDocument(field, "expected a string")
    name = _memo(_names, doc.name, lambda: canonicalize_name(doc.name.strip()))
    if not name:
        raise InvalidDocument("name", "empty")
    version = doc.version.strip()
    if not version:
        raise InvalidDocument("version", "empty")
    if doc.status not in STATUSES:
        raise InvalidDocument("status", f"{doc.status!r} is not one of {', '.join(STATUSES)}")
    if doc.license is not None and type(doc.license) is not str:
        raise InvalidDocument("license", "expected a string or None")
    if not isinstance(doc.published_at, datetime):
        raise InvalidDocument("published_at", "expected a datetime")
    keywords, categories = _strings(doc.keywords, "keywords"), _strings(doc.categories, "categories")
    authors, permissions = _strings(doc.authors, "authors"), _strings(doc.permissions, "permissions")
    license = (doc.license or "").strip()
    shared, ordered_permissions, facet_terms = _memo(
        _attribute_terms, (keywords, categories, license, authors, doc.publisher, permissions, doc.host),
        lambda: _attributes(keywords, categories, license, authors, doc.publisher, permissions, doc.host),
    )
    return _Prepared(
        doc=doc, name=name, vkey=_memo(_version_keys, version, lambda: _version_key(version)),
        tkey=text_key(name, doc.summary, doc.description, keywords), shared=shared,
        own=_OWN[(doc.status, bool(doc.yanked))], ts=_timestamp(doc.published_at),
        permissions=ordered_permissions, license_key=license.lower(), license_shown=license, facet_terms=facet_terms,
    )


def _to_json(doc: SearchDocument) -> str:
    fields = {k: getattr(doc, k) for k in SearchDocument.__dataclass_fields__}
    fields["published_at"] = doc.published_at.isoformat()
    return json.dumps(fields, separators=(",", ":"))


def _from_json(text: str) -> SearchDocument:
    fields = json.loads(text)
    for key in ("keywords", "categories", "authors", "permissions"):
        fields[key] = tuple(fields[key])
    fields["published_at"] = datetime.fromisoformat(fields["published_at"])
    return SearchDocument(**fields)


# ---------------------------------------------------------------------------------------------------------------
# queries


@dataclass(frozen=True)
class _Plan:
    words: tuple[str, ...]
    name_exact: str | None
    statuses: tuple[str, ...]
    include_yanked: bool
    all_of: tuple[tuple[str, str], ...]  # (posting field, value): every one needed
    any_licenses: tuple[str, ...]
    none_of: tuple[str, ...]  # permission kinds excluded
    host_version: str | None
    sort: str


def _values(query: SearchQuery, field: str) -> tuple[str, ...]:
    value = getattr(query, field)
    if isinstance(value, str) or not isinstance(value, tuple | list) or not all(isinstance(v, str) for v in value):
        raise InvalidSearch(field, "expected a tuple of strings")
    if len(value) > MAX_VALUES:
        raise InvalidSearch(field, f"at most {MAX_VALUES} values")
    return tuple(dict.fromkeys(v.strip().lower() for v in value if v.strip()))


def _plan(query: SearchQuery, allow_pending: bool) -> _Plan:
    if not isinstance(query, SearchQuery):
        raise InvalidSearch("query", f"expected a SearchQuery, got {type(query).__name__}")
    text = query.text
    if text is not None and not isinstance(text, str):
        raise InvalidSearch("text", "expected a string")
    text = (text or "").strip()
    if len(text) > MAX_TEXT:
        raise InvalidSearch("text", f"at most {MAX_TEXT} characters")
    words = tuple(query_words(text, MAX_WORDS)) if text else ()
    name_exact = canonicalize_name(text) if words else None
    for field, top in (("limit", MAX_LIMIT), ("offset", MAX_OFFSET)):
        value = getattr(query, field)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0 or value > top:
            raise InvalidSearch(field, f"expected a whole number from 0 to {top}, got {value!r}")
    if query.sort not in SORTS:
        raise InvalidSearch("sort", f"{query.sort!r} is not one of {', '.join(SORTS)}")
    if query.statuses is None:
        statuses = ("cleared", "warned", "pending") if allow_pending else ("cleared", "warned")
    else:
        statuses = _values(query, "statuses")
        unknown = [s for s in statuses if s not in STATUSES]
        if unknown:
            raise InvalidSearch("statuses", f"unknown status {unknown[0]!r}; known: {', '.join(STATUSES)}")
        if not statuses:
            statuses = ("cleared", "warned", "pending") if allow_pending else ("cleared", "warned")
    if not isinstance(query.include_yanked, bool):
        raise InvalidSearch("include_yanked", "expected true or false")
    perms_with, perms_without = _values(query, "with_permissions"), _values(query, "without_permissions")
    for field, kinds in (("with_permissions", perms_with), ("without_permissions", perms_without)):
        unknown = [k for k in kinds if k not in PERMISSION_KINDS]
        if unknown:
            raise InvalidSearch(field, f"unknown permission {unknown[0]!r}; known: {', '.join(PERMISSION_KINDS)}")
    if query.publisher is not None and not isinstance(query.publisher, str):
        raise InvalidSearch("publisher", "expected a string")
    host_version = query.host_version
    if host_version is not None:
        if not isinstance(host_version, str):
            raise InvalidSearch("host_version", "expected a version string")
        try:
            host_version = str(Version(host_version.strip()))
        except InvalidVersion:
            raise InvalidSearch("host_version", f"{query.host_version!r} is not a version (e.g. 1.2)") from None
    all_of = (
        [("cat", v) for v in _values(query, "categories")]
        + [("kw", v) for v in _values(query, "keywords")]
        + [("author", v) for v in _values(query, "authors")]
        + [("perm", v) for v in perms_with]
    )
    if query.publisher is not None and query.publisher.strip():
        all_of.append(("pub", query.publisher.strip().lower()))
    return _Plan(
        words=words, name_exact=name_exact, statuses=tuple(sorted(statuses)), include_yanked=query.include_yanked,
        all_of=tuple(sorted(all_of)), any_licenses=tuple(sorted(_values(query, "licenses"))), none_of=tuple(sorted(perms_without)),
        host_version=host_version, sort=query.sort,
    )


@dataclass
class _Answer:
    """A query's answer before pagination (cached until the next write)."""

    reps: int  # bitmap: the hit (newest matching version) of every matching plugin
    total: int
    facets: dict[str, dict[str, int]]
    text: TextMatch | None = None


# ---------------------------------------------------------------------------------------------------------------
# the index


class SearchIndex:
    """Search over plugin versions. In memory when `directory` is None; otherwise kept in that directory and picked
    up again on the next open. Thread-safe (one lock): every call sees every write made before it.
    The answers (before pagination) to `cache_size` queries are kept until the next write, so paging is cheap.
    `close()` (or a `with` block) waits for the text index's last commit; an in-memory index needs no closing."""

    def __init__(self, directory: Path | None = None, *, allow_pending: bool = False, cache_size: int = RESULT_CACHE) -> None:
        self.allow_pending = allow_pending
        self._cache_size = cache_size
        self._lock = threading.RLock()
        self._directory = Path(directory) if directory is not None else None
        # per version id (vid; stable while the version exists)
        self._vid_of: dict[tuple[str, str], int] = {}
        self._prep: list[_Prepared | None] = []
        self._vpid: list[int] = []
        self._vtid: list[int] = []
        self._vslot: list[int] = []
        self._live = 0
        # per slot
        self._vid_at: list[int] = []  # -1: free, or a guard
        self._guards = 0
        self._starts = 0
        self._dead = 0  # slots in free blocks
        self._free: dict[int, list[int]] = {}  # capacity -> starts of free blocks
        # per plugin id (pid)
        self._pid_of: dict[str, int] = {}
        self._pname: list[str] = []
        self._pvers: list[list[int]] = []  # vids, oldest first
        self._pstart: list[int] = []
        self._pcap: list[int] = []
        self._pids_by_name: list[int] = []
        self._name_rank: list[int] | None = None
        self._by_time: list[int] = []  # vids, newest published first, then by name
        self._unsettled: set[int] = set()  # plugins whose versions are not all in place in their block
        self._untimed: set[int] = set()  # vids not yet in _by_time
        # postings and texts
        self._postings: dict[tuple[str, Any], _Posting] = {}
        self._by_kind: dict[str, dict[Any, _Posting]] = {kind: {} for kind in (*FACET_FIELDS, "host")}
        self._license_shown: dict[str, str] = {}
        self._tid_of: dict[str, int] = {}
        self._tcount: dict[int, int] = {}  # how many versions have each text
        self._tslots: dict[int, list[int]] = {}  # their slots (the same, but what a query needs)
        self._tpid: dict[int, int] = {}  # the plugin of each text (its name is part of it)
        self._next_tid = 0
        self._specifiers: dict[str, SpecifierSet | None] = {}
        self._host_hits: dict[tuple[str, str], bool] = {}
        self._cache: OrderedDict[_Plan, _Answer] = OrderedDict()
        self._db: sqlite3.Connection | None = None
        if self._directory is None:
            self._text = TextIndex(None)
            return
        self._directory.mkdir(parents=True, exist_ok=True)
        self._text = TextIndex(self._directory / "text")
        self._db = sqlite3.connect(self._directory / "catalogue.sqlite3", check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS versions (name TEXT, version TEXT, doc TEXT NOT NULL, PRIMARY KEY (name, version))")
        self._open_existing()

    # -- lifecycle ----------------------------------------------------------------------------------------------
    def _open_existing(self) -> None:
        assert self._db is not None
        for tkey, tid in self._text.stored().items():
            self._tid_of[tkey] = tid
            self._tcount[tid] = 0
            self._tslots[tid] = []
            self._next_tid = max(self._next_tid, tid + 1)
        docs = [_prepare(_from_json(row[0])) for row in self._db.execute("SELECT doc FROM versions")]
        self._apply(docs, persist=False)
        for tkey, tid in list(self._tid_of.items()):
            if not self._tcount.get(tid):
                self._forget_text(tkey, tid)

    def close(self) -> None:
        with self._lock:
            self._text.close()
            if self._db is not None:
                self._db.close()
                self._db = None

    def __enter__(self) -> SearchIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __len__(self) -> int:
        return self._live

    def get(self, name: str, version: str) -> SearchDocument | None:
        """The document held for a version, if any."""
        vid = self._vid_of.get((canonicalize_name(name), version))
        prep = None if vid is None else self._prep[vid]
        return None if prep is None else prep.doc

    # -- writes -------------------------------------------------------------------------------------------------
    def upsert(self, doc: SearchDocument) -> None:
        """Add a version, or replace the one with the same (name, version): status changes, yanks, edits."""
        self.upsert_many((doc,))

    def upsert_many(self, docs: Iterable[SearchDocument]) -> None:
        """Add or replace many versions (one SQLite transaction when kept in a directory). Validates them all first:
        a bad document raises InvalidDocument and changes nothing."""
        prepared = [_prepare(doc) for doc in docs]
        if prepared:
            with self._lock:
                self._apply(prepared, persist=True)

    def remove(self, name: str, version: str) -> None:
        """Forget a version altogether (a yank is an upsert with `yanked=True`); unknown ones are ignored."""
        with self._lock:
            key = (canonicalize_name(name), version)
            vid = self._vid_of.pop(key, None)
            if vid is None:
                return
            prep = self._prep[vid]
            assert prep is not None
            pid = self._vpid[vid]
            self._vacate([vid])
            self._pvers[pid].remove(vid)
            self._release_text(vid)
            if vid in self._untimed:
                self._untimed.discard(vid)
            else:
                self._by_time.pop(self._time_index(vid))
            self._prep[vid] = None
            self._live -= 1
            self._unsettled.add(pid)
            self._settle()
            if self._db is not None:
                self._db.execute("DELETE FROM versions WHERE name = ? AND version = ?", key)
            self._cache.clear()

    def _apply(self, prepared: list[_Prepared], *, persist: bool) -> None:
        prepared.sort(key=lambda p: (p.name, p.vkey))  # stable: the last of duplicates wins
        for prep in prepared:
            self._put(prep)
        if len(prepared) < BULK:
            self._settle()
        if persist and self._db is not None:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT OR REPLACE INTO versions (name, version, doc) VALUES (?, ?, ?)",
                [(p.name, p.doc.version, _to_json(p.doc)) for p in prepared],
            )
            self._db.execute("COMMIT")
        self._cache.clear()

    def flush(self) -> None:
        """Finish what writes left for later (laying out a bulk load, Tantivy commits, bitmaps), so that the next
        search is as fast as any. Optional: a search does the same when it has to."""
        with self._lock:
            self._settle()
            self._text.flush()
            for posting in self._postings.values():
                if posting.small is None:
                    posting.bitmap()

    def _settle(self) -> None:
        """Put new or moved versions in place: blocks and postings, the time order."""
        if self._unsettled:
            for pid in sorted(self._unsettled):
                self._layout(pid)
            self._unsettled.clear()
        if self._untimed:
            if len(self._untimed) >= BULK:
                self._by_time = sorted((v for v, p in enumerate(self._prep) if p is not None), key=self._time_key)
            else:
                for vid in self._untimed:
                    insort(self._by_time, vid, key=self._time_key)
            self._untimed.clear()
        if self._dead > max(COMPACT_MIN, self._live):
            self._compact()

    def _put(self, prep: _Prepared) -> None:
        vid = self._vid_of.get((prep.name, prep.doc.version))
        if vid is not None:
            self._replace(vid, prep)
            return
        pid = self._pid_of.get(prep.name)
        if pid is None:
            pid = len(self._pname)
            self._pid_of[prep.name] = pid
            self._pname.append(prep.name)
            self._pvers.append([])
            self._pstart.append(-1)
            self._pcap.append(0)
            insort(self._pids_by_name, pid, key=self._pname.__getitem__)
            self._name_rank = None
        vid = len(self._prep)
        self._vid_of[(prep.name, prep.doc.version)] = vid
        self._prep.append(prep)
        self._vpid.append(pid)
        self._vtid.append(self._text_id(prep))
        self._vslot.append(-1)
        self._tcount[self._vtid[vid]] += 1
        self._tpid[self._vtid[vid]] = pid
        self._live += 1
        if prep.license_key:
            self._license_shown.setdefault(prep.license_key, prep.license_shown)
        self._untimed.add(vid)
        versions = self._pvers[pid]
        versions.insert(bisect_right(versions, prep.vkey, key=lambda v: self._prep[v].vkey), vid)  # type: ignore[union-attr]
        self._unsettled.add(pid)

    def _replace(self, vid: int, prep: _Prepared) -> None:
        old = self._prep[vid]
        assert old is not None
        slot = self._vslot[vid]  # -1 until laid out: then the postings come from the new terms anyway
        if slot >= 0:
            old_terms, new_terms = old.shared.union(old.own), prep.shared.union(prep.own)
            for term in old_terms - new_terms:
                self._postings[term].discard(slot)
            for term in new_terms - old_terms:
                self._posting(term).add(slot)
        if old.tkey != prep.tkey:
            if slot >= 0:
                self._tslots[self._vtid[vid]].remove(slot)
            self._release_text(vid)
            self._vtid[vid] = tid = self._text_id(prep)
            self._tcount[tid] += 1
            self._tpid[tid] = self._vpid[vid]
            if slot >= 0:
                self._tslots[tid].append(slot)
        if prep.license_key:
            self._license_shown.setdefault(prep.license_key, prep.license_shown)
        if old.ts != prep.ts and vid not in self._untimed:
            self._by_time.pop(self._time_index(vid))
            self._untimed.add(vid)
        self._prep[vid] = prep

    def _time_key(self, vid: int) -> tuple[Any, ...]:
        prep = self._prep[vid]
        assert prep is not None
        return (-prep.ts, prep.name, prep.vkey)

    def _time_index(self, vid: int) -> int:
        at = bisect_left(self._by_time, self._time_key(vid), key=self._time_key)
        while self._by_time[at] != vid:
            at += 1
        return at

    # -- the block layout ---------------------------------------------------------------------------------------
    def _layout(self, pid: int) -> None:
        """Put the plugin's versions newest first from the bottom of its block (a bigger block when full)."""
        versions = self._pvers[pid]
        start, cap = self._pstart[pid], self._pcap[pid]
        if len(versions) + 1 > cap:
            new_cap = _capacity(len(versions))
            if cap:
                self._release_block(start, cap)
            free = self._free.get(new_cap)
            if free:
                start = free.pop()
                self._dead -= new_cap
            else:
                start = len(self._vid_at)
                self._vid_at.extend(repeat(-1, new_cap))
            self._pstart[pid] = start
            self._pcap[pid] = cap = new_cap
            self._guards |= 1 << (start + cap - 1)
            self._starts |= 1 << start
        top = start + cap - 2  # the oldest version's slot
        vslot = self._vslot
        moves = [(vid, top - i) for i, vid in enumerate(versions) if vslot[vid] != top - i]
        self._vacate([vid for vid, _ in moves])
        postings, vid_at, tslots, vtid, preps = self._postings, self._vid_at, self._tslots, self._vtid, self._prep
        for vid, slot in moves:
            prep = preps[vid]
            assert prep is not None
            for term in chain(prep.shared, prep.own):
                (postings.get(term) or self._posting(term)).add(slot)
            vid_at[slot] = vid
            vslot[vid] = slot
            tslots[vtid[vid]].append(slot)

    def _vacate(self, vids: list[int]) -> None:
        for vid in vids:
            slot = self._vslot[vid]
            if slot < 0:
                continue
            prep = self._prep[vid]
            assert prep is not None
            for term in chain(prep.shared, prep.own):
                self._postings[term].discard(slot)
            self._tslots[self._vtid[vid]].remove(slot)
            self._vid_at[slot] = -1
            self._vslot[vid] = -1

    def _release_block(self, start: int, cap: int) -> None:
        """Give a block up (its versions move out right after); the next plugin needing that size reuses it."""
        self._guards &= ~(1 << (start + cap - 1))
        self._starts &= ~(1 << start)
        self._free.setdefault(cap, []).append(start)
        self._dead += cap

    def _compact(self) -> None:
        """Lay every block out afresh, in name order, without the abandoned ones."""
        self._vid_at = []
        self._guards = self._starts = self._dead = 0
        self._free.clear()
        self._postings.clear()
        for postings in self._by_kind.values():
            postings.clear()
        for vid in range(len(self._vslot)):
            self._vslot[vid] = -1
        for slots in self._tslots.values():
            slots.clear()
        for pid in self._pids_by_name:
            self._pstart[pid], self._pcap[pid] = -1, 0
            if self._pvers[pid]:
                self._layout(pid)

    # -- postings and texts -------------------------------------------------------------------------------------
    def _posting(self, term: tuple[str, Any]) -> _Posting:
        posting = self._postings.get(term)
        if posting is None:
            posting = self._postings[term] = _Posting()
            if term[0] in self._by_kind:
                self._by_kind[term[0]][term[1]] = posting
        return posting

    def _text_id(self, prep: _Prepared) -> int:
        tid = self._tid_of.get(prep.tkey)
        if tid is None:
            tid = self._next_tid
            self._next_tid += 1
            self._tid_of[prep.tkey] = tid
            self._tcount[tid] = 0
            self._tslots[tid] = []
            doc = prep.doc
            self._text.add(tid, prep.tkey, prep.name, doc.summary, doc.description, doc.keywords)
        return tid

    def _release_text(self, vid: int) -> None:
        tid = self._vtid[vid]
        self._tcount[tid] -= 1
        self._vtid[vid] = -1
        if not self._tcount[tid]:
            prep = self._prep[vid]
            assert prep is not None
            self._forget_text(prep.tkey, tid)

    def _forget_text(self, tkey: str, tid: int) -> None:
        self._text.delete(tkey, tid)
        del self._tid_of[tkey]
        del self._tcount[tid]
        del self._tslots[tid]
        self._tpid.pop(tid, None)

    # -- reads --------------------------------------------------------------------------------------------------
    def search(self, query: SearchQuery) -> SearchResult:
        plan = _plan(query, self.allow_pending)
        with self._lock:
            self._settle()
            answer = self._cache.get(plan)
            if answer is not None and answer.text is not None and answer.text.fresh and answer.text.visible != self._text.visible:
                answer = None  # it matched texts in Python that Tantivy now has: score them properly
            if answer is None:
                answer = self._answer(plan)
                if self._cache_size > 0:
                    self._cache[plan] = answer
                    if len(self._cache) > self._cache_size:
                        self._cache.popitem(last=False)
            else:
                self._cache.move_to_end(plan)
            page = self._page(plan, answer, query.offset, query.limit)
            hits = [self._hit(slot, score) for slot, score in page]
            return SearchResult(total=answer.total, hits=hits, facets={k: dict(v) for k, v in answer.facets.items()})

    def _hit(self, slot: int, score: float) -> SearchHit:
        prep = self._prep[self._vid_at[slot]]
        assert prep is not None
        doc = prep.doc
        return SearchHit(
            name=prep.name, version=doc.version, score=score, summary=doc.summary, status=doc.status, yanked=doc.yanked,
            keywords=tuple(doc.keywords), categories=tuple(doc.categories), license=doc.license, authors=tuple(doc.authors),
            publisher=doc.publisher, permissions=prep.permissions, host=doc.host, published_at=doc.published_at,
        )

    def _bits(self, term: tuple[str, Any]) -> int:
        posting = self._postings.get(term)
        return 0 if posting is None else posting.bitmap()

    def _filter(self, plan: _Plan) -> int:
        bits = 0
        for status in plan.statuses:
            bits |= self._bits(("status", status))
        if not plan.include_yanked and bits:
            bits &= ~self._bits(("yanked", True))
        for term in plan.all_of:
            if not bits:
                return 0
            bits &= self._bits(term)
        if plan.any_licenses and bits:
            licensed = 0
            for license in plan.any_licenses:
                licensed |= self._bits(("lic", license))
            bits &= licensed
        for kind in plan.none_of:
            if bits:
                bits &= ~self._bits(("perm", kind))
        if plan.host_version is not None and bits:
            bits &= self._host_bits(plan.host_version)
        return bits

    def _host_bits(self, host_version: str) -> int:
        version = Version(host_version)
        bits = 0
        for host, posting in self._by_kind["host"].items():
            if not posting:
                continue
            hit = self._host_hits.get((host, host_version))
            if hit is None:
                if host not in self._specifiers:
                    try:
                        self._specifiers[host] = SpecifierSet(host)
                    except InvalidSpecifier:
                        self._specifiers[host] = None
                spec = self._specifiers[host]
                hit = spec is not None and spec.contains(version, prereleases=True)
                if len(self._host_hits) > 100_000:
                    self._host_hits.clear()
                self._host_hits[(host, host_version)] = hit
            if hit:
                bits |= posting.bitmap()
        return bits

    def _answer(self, plan: _Plan) -> _Answer:
        bits = self._filter(plan)
        text = None
        if plan.words and bits:
            text = self._text.match(list(plan.words), plan.name_exact, self._tslots)
            tslots, size = self._tslots, len(self._vid_at)
            if text.inverted:  # most texts match: clear the versions of those that do not
                missed = chain(text.tids, text.fresh_missed)
                bits &= ~_bitmap(chain.from_iterable(map(tslots.get, missed, repeat(()))), size)
            elif 2 * (len(text.tids) + len(text.fresh)) > len(tslots):  # the same, the other texts found here
                missed = tslots.keys() - set(text.tids) - text.fresh.keys()
                bits &= ~_bitmap(chain.from_iterable(map(tslots.__getitem__, missed)), size)
            else:
                matched = [*text.tids, *text.fresh]
                plugins = set(map(self._tpid.get, matched))
                plugins.discard(None)
                if PLUGIN_WALK * len(plugins) * len(tslots) < len(matched) * self._live:  # few plugins, many versions
                    reps = self._reps_by_plugin(bits, set(matched), plugins)  # type: ignore[arg-type]
                    total = reps.bit_count()
                    return _Answer(reps=reps, total=total, facets=self._facets(reps, total), text=text)
                bits &= _bitmap(chain.from_iterable(map(tslots.get, matched, repeat(()))), size)
        elif plan.words:
            bits = 0
        x = bits | self._guards
        reps = x & ~(x - self._starts) & ~self._guards  # the lowest set bit of every block: its newest match
        total = reps.bit_count()
        return _Answer(reps=reps, total=total, facets=self._facets(reps, total), text=text)

    def _reps_by_plugin(self, bits: int, matched: set[int], plugins: set[int]) -> int:
        """The hits of a text query, plugin by plugin: the newest version passing the filters (`bits`) is usually
        the newest with a matching text too; only where it is not, older ones are looked at."""
        x = bits | self._guards
        newest = _bytes(x & ~(x - self._starts) & ~self._guards)
        passing = _bytes(bits)
        pstart, pcap, vid_at, vtid = self._pstart, self._pcap, self._vid_at, self._vtid
        found: list[int] = []
        for pid in plugins:
            start = pstart[pid]
            if start < 0:
                continue
            block = int.from_bytes(newest[start >> 3:(start + pcap[pid]) >> 3], "little")
            if not block:
                continue
            slot = start + block.bit_length() - 1
            if vtid[vid_at[slot]] in matched:
                found.append(slot)
                continue
            for older in range(slot + 1, start + pcap[pid] - 1):
                if _has(passing, older) and vtid[vid_at[older]] in matched:
                    found.append(older)
                    break
        return _bitmap(found, len(vid_at))

    def _facets(self, reps: int, total: int) -> dict[str, dict[str, int]]:
        counts: dict[str, Counter[str]] = {name: Counter() for name in FACET_FIELDS.values()}
        if total <= SMALL_FACETS:
            preps = [self._prep[self._vid_at[slot]] for slot in _one_per_byte(reps, total)]
            for kind, value in chain.from_iterable(prep.facet_terms for prep in preps if prep is not None):
                counts[FACET_FIELDS[kind]][value] += 1
        elif total:
            for kind, name in FACET_FIELDS.items():
                for value, posting in self._by_kind[kind].items():
                    if posting and (n := (reps & posting.bitmap()).bit_count()):
                        counts[name][value] = n
        shown = self._license_shown
        counts["license"] = Counter({shown.get(k, k): n for k, n in counts["license"].items()})
        return {name: dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))) for name, c in counts.items()}

    def _page(self, plan: _Plan, answer: _Answer, offset: int, limit: int) -> list[tuple[int, float]]:
        """(slot, score) of the hits offset..offset+limit."""
        want = offset + limit
        if not want or offset >= answer.total:
            return []
        if answer.text is not None and plan.sort == "relevance":
            return self._page_by_score(answer, answer.text, offset, want)
        reps = answer.reps
        by_time = plan.sort == "newest" or plan.sort == "relevance"
        population = len(self._by_time) if by_time else len(self._pids_by_name)
        if want * population > 4 * answer.total * answer.total:  # sparse: sort the hits
            slots = _one_per_byte(reps, answer.total)
            if by_time:
                slots.sort(key=lambda s: self._time_key(self._vid_at[s]))
            else:
                rank = self._ranks()
                slots.sort(key=lambda s: rank[self._vpid[self._vid_at[s]]])
            found = slots[offset:want]
        else:  # dense: walk that order until the page is full
            raw = _bytes(reps)
            found = []
            if by_time:
                vslot = self._vslot
                for vid in self._by_time:
                    slot = vslot[vid]
                    if _has(raw, slot):
                        found.append(slot)
                        if len(found) >= want:
                            break
            else:
                pstart, pcap = self._pstart, self._pcap
                for pid in self._pids_by_name:
                    start = pstart[pid]
                    if start < 0:
                        continue
                    block = int.from_bytes(raw[start >> 3:(start + pcap[pid]) >> 3], "little")
                    if block:
                        found.append(start + block.bit_length() - 1)
                        if len(found) >= want:
                            break
            found = found[offset:want]
        if answer.text is None:
            return [(slot, 0.0) for slot in found]
        scores = self._scores(answer.text, found)
        return [(slot, scores.get(self._vtid[self._vid_at[slot]], 0.0)) for slot in found]

    def _page_by_score(self, answer: _Answer, text: TextMatch, offset: int, want: int) -> list[tuple[int, float]]:
        """Hits by score, then name. With every matching text scored, sort all hits (C-level passes); otherwise walk
        the texts best first, scoring more until the page is full and every hit scoring the same as its last one
        is in. A version takes the score of its text."""
        rank = self._ranks()
        k = max(FIRST_SCORED, 2 * want, len(text.ranked) if text.complete else 0)
        while True:
            ranked, complete = text.top(k)
            if complete:
                scores = dict(ranked)
                slots = _one_per_byte(answer.reps, answer.total)
                vids = list(map(self._vid_at.__getitem__, slots))
                by_score = list(map(scores.get, map(self._vtid.__getitem__, vids), repeat(0.0)))
                by_name = list(map(rank.__getitem__, map(self._vpid.__getitem__, vids)))
                order = sorted(range(len(slots)), key=by_name.__getitem__)
                order.sort(key=by_score.__getitem__, reverse=True)
                return [(slots[i], by_score[i]) for i in order[offset:want]]
            raw = _bytes(answer.reps)
            size = len(raw)
            vid_at, vpid, tslots = self._vid_at, self._vpid, self._tslots
            found: list[tuple[float, int, int]] = []
            for tid, score in ranked:
                if len(found) >= want and score != -found[-1][0]:
                    found.sort()
                    return [(slot, -neg) for neg, _, slot in found[offset:want]]
                for slot in tslots.get(tid, ()):
                    i = slot >> 3
                    if i < size and raw[i] >> (slot & 7) & 1:
                        found.append((-score, rank[vpid[vid_at[slot]]], slot))
            k *= 4

    def _scores(self, text: TextMatch, slots: list[int]) -> dict[int, float]:
        """The scores of the texts of a few hits (for a page sorted by name or time)."""
        return text.scores_of({self._vtid[self._vid_at[s]] for s in slots})

    def _ranks(self) -> list[int]:
        if self._name_rank is None or len(self._name_rank) != len(self._pname):
            rank = [0] * len(self._pname)
            for i, pid in enumerate(self._pids_by_name):
                rank[pid] = i
            self._name_rank = rank
        return self._name_rank
