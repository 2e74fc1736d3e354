"""Does a plugin name imitate another one? Look-alike characters, separator games, added or removed affixes,
swapped words and small typos, checked against many known names at once.

Every known name is put into an index once (`NameIndex`): exact buckets for its look-alike skeleton, its
core without common affixes and its sorted words; and its skeleton and core cut into pieces keyed by length,
position and text (3 pieces below 10 characters, where one edit counts; 5 from 10 on, where two do: a name
within that many edits keeps at least one piece intact, at most that many characters away from its place). A query then touches a few hundred buckets instead of every name, and only the candidates found
there are compared with a bounded Damerau-Levenshtein distance. `imitated(name, known)` reuses the index
while `known` is unchanged, and extends it in place when names were only added.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

# letters from other scripts that look like Latin ones (after NFKC, which already folds full-width forms)
HOMOGLYPHS = str.maketrans({
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i", "ј": "j", "ѕ": "s",
    "ԁ": "d", "ӏ": "l", "һ": "h", "ԛ": "q", "ԝ": "w", "к": "k", "м": "m", "н": "h", "т": "t", "в": "b",
    "α": "a", "ο": "o", "ρ": "p", "ν": "v", "ι": "i", "κ": "k", "τ": "t", "υ": "u", "ε": "e", "χ": "x",
    "ı": "i", "ɡ": "g", "ɩ": "l", "ℓ": "l", "ǀ": "l",
})
# characters that read alike in names once the script is Latin: digits for letters, i/l/1
CONFUSABLE = str.maketrans({"0": "o", "1": "l", "i": "l", "|": "l", "!": "l", "$": "s"})
CONFUSABLE_PAIRS = (("rn", "m"), ("vv", "w"))
PREFIXES = ("python-", "python", "py-", "py", "plugin-", "plugyard-", "official-")
SUFFIXES = ("-plugin", "-official", "-dev", "-python", "-py", "-lib", "-plugyard", "2", "3")
SEPARATORS = re.compile(r"[-_.\s]+")
MIN_DISTANCE_LENGTH = 4  # names shorter than this are only matched exactly (skeleton, core, words)
LONG_NAME = 10  # from this length on, an edit distance of 2 counts as imitation
PIECES = 5


@dataclass(frozen=True)
class Imitation:
    name: str  # the known name imitated, as given
    reason: str
    strength: int  # lower is stronger: 0 look-alike, 1 affix, 2 word order, 3 edit distance


def canonical(name: str) -> str:
    """The name as the registry compares names (PEP 503): lower case, runs of '-', '_', '.' as one '-'."""
    return re.sub(r"[-_.]+", "-", name).lower()


def normalize(name: str) -> str:
    """Lower case, other scripts' look-alike letters as Latin, every run of separators one '-'."""
    text = unicodedata.normalize("NFKC", name).casefold().translate(HOMOGLYPHS)
    return SEPARATORS.sub("-", text).strip("-")


def skeleton(normalized: str) -> str:
    """What the name looks like: no separators, rn as m, vv as w, 0 as o, 1/i/l alike."""
    text = normalized.replace("-", "")
    for pair, single in CONFUSABLE_PAIRS:
        text = text.replace(pair, single)
    return text.translate(CONFUSABLE)


def core(normalized: str) -> str:
    """The name without the common affixes (python-, py, -plugin, -dev, 2, ...), as a skeleton."""
    text = normalized
    changed = True
    while changed:
        changed = False
        for prefix in PREFIXES:
            if text.startswith(prefix) and len(text) - len(prefix) >= 3:
                text = text[len(prefix):].lstrip("-")
                changed = True
        for suffix in SUFFIXES:
            if text.endswith(suffix) and len(text) - len(suffix) >= 3:
                text = text[: -len(suffix)].rstrip("-")
                changed = True
    return skeleton(text)


def words(normalized: str) -> str:
    parts = [skeleton(p) for p in normalized.split("-") if p]
    return "-".join(sorted(parts)) if len(parts) > 1 else ""


def distance(a: str, b: str, limit: int) -> int:
    """Damerau-Levenshtein distance (optimal string alignment) of a and b, or limit + 1 once it exceeds limit."""
    if a == b:
        return 0
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous_previous: list[int] | None = None
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        best = i
        ai = a[i - 1]
        for j in range(1, len(b) + 1):
            cost = 0 if ai == b[j - 1] else 1
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if previous_previous is not None and j > 1 and ai == b[j - 2] and a[i - 2] == b[j - 1]:
                value = min(value, previous_previous[j - 2] + 1)
            current[j] = value
            if value < best:
                best = value
        if best > limit:
            return limit + 1
        previous_previous, previous = previous, current
    return previous[-1] if previous[-1] <= limit else limit + 1


def _pieces(length: int) -> int:
    """Into how many pieces a key of this length is cut: one more than the edits it may be away, doubled for
    transpositions (an adjacent swap can touch two pieces), so one piece always survives intact."""
    return 3 if length < LONG_NAME else 5


def _piece_bounds(length: int) -> tuple[int, ...]:
    count = _pieces(length)
    return tuple(round(i * length / count) for i in range(count + 1))


_BOUNDS = [_piece_bounds(length) for length in range(256)]


def _bounds(length: int) -> tuple[int, ...]:
    return _BOUNDS[length] if length < 256 else _piece_bounds(length)


def _slot(length: int, piece: int, text: str) -> str:
    return f"{chr(length)}{chr(48 + piece)}{text}"


def _put(buckets: dict, key: object, value: object) -> None:
    """Buckets hold one value as itself and several as a list (most buckets hold one: this halves the index)."""
    current = buckets.get(key)
    if current is None:
        buckets[key] = value
    elif isinstance(current, list):
        if value not in current:
            current.append(value)
    elif current != value:
        buckets[key] = [current, value]


def _items(buckets: dict, key: object) -> list:
    current = buckets.get(key)
    if current is None:
        return []
    return current if isinstance(current, list) else [current]


class NameIndex:
    """Known names indexed for `matches`; `add` more names at any time."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        self.names: list[str] = []
        self.ids: dict[str, int] = {}
        self.normalized: list[str] = []
        self.canonical: list[str] = []
        self.keys: list[str] = []  # distance keys (skeletons and cores), by key id
        self.key_ids: dict[str, int] = {}
        self.key_names: list[int | list[int]] = []  # key id -> name id(s)
        self.by_skeleton: dict[str, int | list[int]] = {}
        self.by_core: dict[str, int | list[int]] = {}
        self.by_words: dict[str, int | list[int]] = {}
        self.pieces: dict[str, int | list[int]] = {}  # slot (length, piece, text) -> key id(s)
        self.add(names)

    def __len__(self) -> int:
        return len(self.names)

    def add(self, names: Iterable[str]) -> None:
        for name in names:
            if name in self.ids:
                continue
            number = len(self.names)
            self.ids[name] = number
            self.names.append(name)
            normalized = normalize(name)
            self.normalized.append(normalized)
            self.canonical.append(canonical(name))
            shape = skeleton(normalized)
            center = core(normalized)
            _put(self.by_skeleton, shape, number)
            if center != shape:  # names without affixes are found through by_skeleton
                _put(self.by_core, center, number)
            ordered = words(normalized)
            if ordered:
                _put(self.by_words, ordered, number)
            for key in {shape, center}:
                if len(key) >= MIN_DISTANCE_LENGTH and len(key) < 0x10000:
                    self._add_key(key, number)

    def _add_key(self, key: str, number: int) -> None:
        key_id = self.key_ids.get(key)
        if key_id is not None:
            current = self.key_names[key_id]
            if isinstance(current, list):
                current.append(number)
            else:
                self.key_names[key_id] = [current, number]
            return
        key_id = len(self.keys)
        self.key_ids[key] = key_id
        self.keys.append(key)
        self.key_names.append(number)
        bounds = _bounds(len(key))
        for piece in range(len(bounds) - 1):
            _put(self.pieces, _slot(len(key), piece, key[bounds[piece]:bounds[piece + 1]]), key_id)

    def matches(self, name: str) -> list[Imitation]:
        """The known names `name` imitates, strongest first; never the name itself (the same PEP 503 name)."""
        normalized = normalize(name)
        own = canonical(name)
        shape = skeleton(normalized)
        center = core(normalized)
        found: dict[int, Imitation] = {}

        def keep(number: int, reason: str, strength: int) -> None:
            if self.canonical[number] == own:
                return
            current = found.get(number)
            if current is None or strength < current.strength:
                found[number] = Imitation(self.names[number], reason, strength)

        if len(shape) >= 3:
            for number in _items(self.by_skeleton, shape):
                keep(number, "looks the same (look-alike characters or separators)", 0)
        if len(center) >= 3:
            affixed = _items(self.by_core, center) + (_items(self.by_skeleton, center) if center != shape else [])
            if len(shape) >= 3 and center != shape:
                affixed += _items(self.by_core, shape)
            for number in affixed:
                if skeleton(self.normalized[number]) != shape:
                    keep(number, "the same name with a common prefix or suffix added or removed", 1)
        ordered = words(normalized)
        if ordered:
            for number in _items(self.by_words, ordered):
                keep(number, "the same words in another order", 2)
        for key in {shape, center}:
            for number, edits in self._near(key):
                keep(number, f"{edits} typing edit{'s' if edits > 1 else ''} away", 3)
        return sorted(found.values(), key=lambda m: (m.strength, m.name))

    def _near(self, query: str) -> Iterator[tuple[int, int]]:
        """Names whose distance key is 1 edit (2 for keys of LONG_NAME characters or more) from `query`."""
        length = len(query)
        if length < MIN_DISTANCE_LENGTH - 1:
            return
        candidates: set[int] = set()
        for known_length in range(max(MIN_DISTANCE_LENGTH, length - 2), min(length + 3, 0x10000)):
            limit = 2 if known_length >= LONG_NAME else 1
            if abs(known_length - length) > limit:
                continue
            bounds = _bounds(known_length)
            for piece in range(len(bounds) - 1):
                size = bounds[piece + 1] - bounds[piece]
                for shift in range(-limit, limit + 1):
                    start = bounds[piece] + shift
                    if 0 <= start and start + size <= length:
                        candidates.update(_items(self.pieces, _slot(known_length, piece, query[start:start + size])))
        for key_id in candidates:
            key = self.keys[key_id]
            limit = 2 if len(key) >= LONG_NAME else 1
            edits = distance(query, key, limit)
            if 0 < edits <= limit:
                owners = self.key_names[key_id]
                for number in owners if isinstance(owners, list) else [owners]:
                    yield number, edits


_CACHE: list[tuple[frozenset[str], NameIndex]] = []
_LOCK = threading.RLock()  # held while the cached index is extended or queried


def index_for(known: Iterable[str]) -> NameIndex:
    """The index of `known`, reused while the set of names is the same and extended when names were added."""
    names = known if isinstance(known, frozenset) else frozenset(known)
    with _LOCK:
        if _CACHE:
            cached_names, index = _CACHE[0]
            if cached_names == names:
                return index
            if cached_names <= names:
                index.add(names - cached_names)
                _CACHE[0] = (names, index)
                return index
        index = NameIndex(names)
        _CACHE[:] = [(names, index)]
        return index


def imitations(name: str, known: Iterable[str]) -> list[Imitation]:
    with _LOCK:
        return index_for(known).matches(name)


def imitated(name: str, known: Iterable[str]) -> str | None:
    """The known name that `name` imitates (the strongest resemblance), or None."""
    found = imitations(name, known)
    return found[0].name if found else None
