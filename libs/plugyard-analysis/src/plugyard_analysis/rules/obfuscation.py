"""Code written to be hard to read or to read differently than it runs:

- PY-OBFUSCATED: obfuscator output (runs of confusable names like `lIlIl`/`O0O0O`/`_0x1a2b`, PyArmor),
  huge single-line base64/hex blobs; medium alone, high when it comes with code execution;
- PY-BIDI: bidirectional control characters in source (Trojan Source, CVE-2021-42574);
- PY-HOMOGLYPH: identifiers written with look-alike characters (Cyrillic/Greek letters mixed with Latin,
  or fullwidth/mathematical letters Python folds to ASCII by NFKC, e.g. `ｅｘｅｃ`);
- PY-INVISIBLE-CHAR: zero-width and other invisible characters in identifiers or strings.
"""

from __future__ import annotations

import builtins
import io
import keyword
import re
import token
import tokenize
import unicodedata
from collections.abc import Iterator

from plugyard_analysis.rulebook import Hit, RuleInfo, python_rule
from plugyard_analysis.rules._text_util import EXEC_CALLS
from plugyard_analysis.sources import SourceFile

OBFUSCATED = RuleInfo(
    "PY-OBFUSCATED",
    "behaviour",
    "medium",
    "The code is obfuscated (confusable generated names, PyArmor, or huge encoded blobs), which hides what it does",
    confidence="medium",
    cwe=506,
)
BIDI = RuleInfo(
    "PY-BIDI",
    "behaviour",
    "high",
    "Bidirectional control characters in source make the code display differently from how it runs (Trojan Source)",
    cwe=451,
)
HOMOGLYPH = RuleInfo(
    "PY-HOMOGLYPH",
    "behaviour",
    "high",
    "An identifier is written with look-alike characters, so it reads as a different name than the one that runs",
    cwe=1007,
)
INVISIBLE = RuleInfo(
    "PY-INVISIBLE-CHAR",
    "behaviour",
    "medium",
    "Invisible characters (zero-width, fillers, tags) in identifiers or strings make code differ from what it shows",
    cwe=1007,
)

# --- PY-OBFUSCATED ---------------------------------------------------------------------------------------

CONFUSABLE_NAME = re.compile(r"^_*(?:[lI1]{5,}|[oO0]{5,}|0x[0-9a-fA-F]{3,8})_*$")
BLOB_MIN = 4096
EXEC_BLOB_MIN = 1024
BASE64_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_")
HEX_CHARS = frozenset("0123456789abcdefABCDEF")
PYARMOR_CALLS = ("__pyarmor__", "__pyarmor_enter__", "__pyarmor_exit__", "__armor_enter__", "__armor_wrap__", "pyarmor")


def _is_confusable_name(name: str) -> bool:
    if not CONFUSABLE_NAME.match(name):
        return False
    core = name.strip("_")
    if core.startswith("0x"):
        return True
    return len(set(core)) >= 2  # "lllll" is just long, "lIlIl" is meant to confuse


def blob_kind(value: str) -> str | None:
    """"base64"/"hex"/"escaped bytes" when a long string is an encoded blob rather than text."""
    compact = "".join(value.split())
    if len(compact) < EXEC_BLOB_MIN:
        return None
    if len(compact) < len(value):
        # whitespace is only allowed as the line wrapping of one blob (76/64-column base64), not between words
        words = value.split()
        if len(words) > 1 and sum(len(w) >= 40 for w in words) < 0.9 * len(words):
            return None
    sample = compact[:20000]
    # encoded data uses many different characters and has no long run of one character (padding, rulers)
    encoded = len(set(sample)) >= 10 and not re.search(r"(.)\1{15}", sample)
    if encoded and sum(c in HEX_CHARS for c in sample) >= 0.98 * len(sample):
        return "hex"
    if encoded and sum(c in BASE64_CHARS for c in sample) >= 0.97 * len(sample):
        # a base64 blob mixes cases and digits
        if any(c.isupper() for c in sample) and any(c.islower() for c in sample) and any(c.isdigit() for c in sample):
            return "base64"
    binary = sum(1 for c in sample if ord(c) < 9 or 13 < ord(c) < 32 or 126 < ord(c) < 256)
    if binary >= 0.3 * len(sample):
        return "escaped bytes"
    return None


def _long_line_blobs(src: SourceFile, covered: set[int]) -> Iterator[tuple[int, str]]:
    """Lines over BLOB_MIN characters that are one encoded literal (bytes constants are not in the index)."""
    text = src.text or ""
    if len(text) < BLOB_MIN:
        return
    for number, line in enumerate(text.split("\n"), start=1):
        if len(line) < BLOB_MIN or number in covered:
            continue
        escapes = line.count("\\x")
        if escapes * 4 >= 0.8 * len(line):
            yield number, "escaped bytes"
            continue
        literal = re.search(r"""[bB]?[rR]?(['"])([A-Za-z0-9+/=_\-]{4096,})\1""", line)
        if literal:
            kind = blob_kind(literal.group(2))
            if kind:
                yield number, kind


@python_rule(OBFUSCATED)
def check_obfuscated(src: SourceFile) -> Iterator[Hit]:
    index = src.index
    executes = index.calls_to(*EXEC_CALLS)

    pyarmor = [c for c in index.calls if c.name.split(".")[-1] in PYARMOR_CALLS]
    if pyarmor or any(m.split(".")[0] in ("pytransform", "pyarmor_runtime") or m.split(".")[-1].startswith("pyarmor_runtime") for m in index.imported_modules):
        node = pyarmor[0].node if pyarmor else None
        line = None if node is not None else min((n for m, n in index.import_lines.items() if "pytransform" in m or "pyarmor_runtime" in m), default=None)
        yield Hit("the module is PyArmor-protected: its real code is encrypted and cannot be reviewed", node=node, line=line, severity="high")
        return

    # blobs flowing into exec/eval/compile/marshal.loads
    for call in executes:
        for arg in call.node.args[:1]:
            for value in index.strings_in(arg, call.scope):
                kind = blob_kind(value) if len(value) >= EXEC_BLOB_MIN else None
                if kind:
                    yield Hit(f"executes a {len(value)}-character {kind} blob", node=call.node, severity="high")
                    return

    names = {name for name, _ in index.identifiers} | set(index.imports)
    confusable = sorted(name for name in names if _is_confusable_name(name))
    if len(confusable) >= 10 or (len(confusable) >= 4 and len(confusable) >= 0.25 * len(names)):
        first = next((node for name, node in index.identifiers if name in confusable), None)
        shown = ", ".join(confusable[:4])
        if executes:
            yield Hit(f"{len(confusable)} of {len(names)} names are generated look-alikes ({shown}) and the module runs dynamic code", node=first, severity="high")
        else:
            yield Hit(f"{len(confusable)} of {len(names)} names are generated look-alikes ({shown})", node=first)
        return

    covered: set[int] = set()
    for string in index.strings:
        if len(string.value) >= BLOB_MIN:
            covered.add(string.node.lineno)
            kind = blob_kind(string.value)
            if kind:
                yield Hit(f"a {len(string.value)}-character {kind} blob", node=string.node)
                return
    for line, kind in _long_line_blobs(src, covered):
        severity = "high" if executes and index.imports_any("marshal", "zlib", "base64", "lzma", "bz2", "binascii") else None
        yield Hit(f"a single-line {kind} blob of over {BLOB_MIN} characters", line=line, severity=severity)  # type: ignore[arg-type]
        return


# --- tokens of non-ASCII files ---------------------------------------------------------------------------

def _tokens(src: SourceFile) -> list[tokenize.TokenInfo]:
    try:
        return list(tokenize.generate_tokens(io.StringIO(src.text or "").readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return []


STRING_TOKENS = {token.STRING} | ({getattr(token, "FSTRING_MIDDLE")} if hasattr(token, "FSTRING_MIDDLE") else set())


# --- PY-BIDI ---------------------------------------------------------------------------------------------

BIDI_CHARS = re.compile("[\u202a-\u202e\u2066-\u2069]")
RTL_LETTERS = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")
BIDI_NAMES = {"\u202a": "LRE", "\u202b": "RLE", "\u202c": "PDF", "\u202d": "LRO", "\u202e": "RLO", "\u2066": "LRI", "\u2067": "RLI", "\u2068": "FSI", "\u2069": "PDI"}


def _bidi_layout(src: SourceFile) -> tuple[set[int], dict[int, int]]:
    """(lines wholly inside a multi-line string, where there is no code for controls to reorder; per line, how
    many controls sit in one-line strings made of nothing but control characters: constants naming them)."""
    inside: set[int] = set()
    naming: dict[int, int] = {}
    for tok in _tokens(src):
        if tok.type not in STRING_TOKENS:
            continue
        if tok.end[0] - tok.start[0] >= 2:
            inside.update(range(tok.start[0] + 1, tok.end[0]))
        count = len(BIDI_CHARS.findall(tok.string))
        if count and tok.start[0] == tok.end[0] and not STRING_TEXT.sub("", BIDI_CHARS.sub("", _string_body(tok.string))):
            naming[tok.start[0]] = naming.get(tok.start[0], 0) + count
    return inside, naming


STRING_TEXT = re.compile(r"[\s,|\[\]\\-]")
QUOTES = re.compile(r"^[a-zA-Z]*(?:'''|\"\"\"|'|\")|(?:'''|\"\"\"|'|\")$")


def _string_body(literal: str) -> str:
    return QUOTES.sub("", literal)


@python_rule(BIDI)
def check_bidi(src: SourceFile) -> Iterator[Hit]:
    text = src.text or ""
    if text.isascii() or not BIDI_CHARS.search(text):
        return
    in_text, naming = _bidi_layout(src)
    reported = 0
    last_line = -1
    for match in BIDI_CHARS.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        if line == last_line:
            continue
        last_line = line
        start = text.rfind("\n", 0, match.start()) + 1
        end = text.find("\n", match.start())
        content = text[start : end if end >= 0 else len(text)]
        found = BIDI_CHARS.findall(content)
        if naming.get(line) == len(found):
            continue  # a constant listing the controls themselves (e.g. a sanitizer): nothing to reorder
        controls = sorted({BIDI_NAMES[c] for c in found})
        if RTL_LETTERS.search(content):
            # right-to-left text (Hebrew, Arabic) legitimately carries embedding controls
            yield Hit(f"bidirectional controls {', '.join(controls)} beside right-to-left text", line=line, severity="low")
        elif line in in_text:
            yield Hit(f"bidirectional controls {', '.join(controls)} inside a multi-line string", line=line, severity="medium")
        else:
            yield Hit(f"bidirectional controls {', '.join(controls)} reorder how this line displays", line=line)
        reported += 1
        if reported >= 5:
            return


# --- PY-HOMOGLYPH ----------------------------------------------------------------------------------------

# Cyrillic, Greek and Armenian letters that look like Latin ones (a subset of Unicode's confusables.txt)
CONFUSABLES = {
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ј": "j", "һ": "h",
    "ԁ": "d", "ԛ": "q", "ԝ": "w", "ӏ": "l", "к": "k", "ү": "y", "ѵ": "v", "ɡ": "g",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T", "Х": "X",
    "У": "Y", "Ѕ": "S", "І": "I", "Ј": "J", "Ԁ": "D", "Ԛ": "Q", "Ԝ": "W", "Ү": "Y", "Ӏ": "I",
    "α": "a", "ο": "o", "ρ": "p", "ν": "v", "υ": "u", "ι": "i", "κ": "k", "χ": "x", "ϲ": "c", "ϳ": "j",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O", "Ρ": "P",
    "Τ": "T", "Υ": "Y", "Χ": "X", "Ϲ": "C",
    "օ": "o", "ս": "u", "հ": "h", "ո": "n", "զ": "q", "ց": "g",
    "ı": "i", "ȷ": "j", "ɑ": "a", "ℓ": "l",
}  # fmt: skip
WELL_KNOWN = frozenset(dir(builtins)) | frozenset(keyword.kwlist) | frozenset(
    {"os", "sys", "subprocess", "socket", "system", "popen", "run", "call", "open", "read", "write", "self", "cls",
     "token", "password", "secret", "key", "path", "environ", "request", "requests", "urlopen", "base64", "marshal",
     "admin", "user", "login", "auth", "check", "verify", "validate", "is_admin", "allowed", "main", "init"}
)  # fmt: skip
WORD = re.compile(r"\w+")


def _skeleton(name: str) -> str:
    return "".join(CONFUSABLES.get(c, c) for c in name)


def _mixed_segment(name: str) -> bool:
    """A run of letters (between underscores/digits) mixing ASCII letters with look-alike ones."""
    for segment in re.split(r"[_\d]+", name):
        if any(c.isascii() and c.isalpha() for c in segment) and any(c in CONFUSABLES for c in segment):
            return True
    return False


def _looks_ascii(word: str) -> bool:
    normal = unicodedata.normalize("NFKC", word)
    return normal.isascii() or _skeleton(normal).isascii()


@python_rule(HOMOGLYPH)
def check_homoglyph(src: SourceFile) -> Iterator[Hit]:
    text = src.text or ""
    if text.isascii():
        return
    # cheap pre-filter: a non-ASCII word that would read as ASCII somewhere in the file
    candidates = {w for w in set(WORD.findall(text)) if not w.isascii() and not w[0].isdigit() and _looks_ascii(w)}
    if not candidates:
        return
    # only worth tokenizing when such a word is (NFKC-normalised) a name the code uses, not just text in a string
    index = src.index
    names = {name for name, _ in index.identifiers}
    names.update(part for call in index.calls for part in call.name.split("."))
    names.update(read.node.attr for read in index.attributes)
    if not any(unicodedata.normalize("NFKC", w) in names for w in candidates):
        return
    tokens = _tokens(src)
    ascii_names = {t.string for t in tokens if t.type == token.NAME and t.string.isascii()}
    reported: set[str] = set()
    for tok in tokens:
        if tok.type != token.NAME or tok.string.isascii() or tok.string in reported:
            continue
        raw = tok.string
        normal = unicodedata.normalize("NFKC", raw)
        detail = None
        severity = None
        if normal.isascii():
            detail = f"`{raw}` is written with look-alike characters that Python reads as `{normal}`"
            if normal not in WELL_KNOWN and normal not in ascii_names and normal not in src.index.imports:
                severity = "medium"  # e.g. a subscript letter in a maths name: confusing, not disguising a known name
        else:
            skeleton = _skeleton(normal)
            if skeleton.isascii():
                if _mixed_segment(normal):
                    detail = f"`{raw}` mixes Latin letters with look-alike Cyrillic/Greek ones (reads as `{skeleton}`)"
                elif len(skeleton) >= 2 and (skeleton in WELL_KNOWN or skeleton in ascii_names):
                    detail = f"`{raw}` is a different name from `{skeleton}` though it looks the same"
        if detail is not None:
            reported.add(raw)
            yield Hit(detail, line=tok.start[0], severity=severity)  # type: ignore[arg-type]
            if len(reported) >= 5:
                return


# --- PY-INVISIBLE-CHAR -----------------------------------------------------------------------------------

INVISIBLE_CHARS = re.compile(
    "[\u200b-\u200d\u2060-\u2064\ufeff\u180e\u00ad\u034f\u115f\u1160\u3164\uffa0\u17b4\u17b5\U000e0000-\U000e007f]"
)
FILLERS = "\u115f\u1160\u3164\uffa0"
CHAR_NAMES = {
    "\u200b": "ZERO WIDTH SPACE", "\u200c": "ZERO WIDTH NON-JOINER", "\u200d": "ZERO WIDTH JOINER", "\u2060": "WORD JOINER",
    "\ufeff": "ZERO WIDTH NO-BREAK SPACE", "\u00ad": "SOFT HYPHEN", "\u3164": "HANGUL FILLER", "\u115f": "HANGUL CHOSEONG FILLER",
    "\u1160": "HANGUL JUNGSEONG FILLER", "\uffa0": "HALFWIDTH HANGUL FILLER", "\u180e": "MONGOLIAN VOWEL SEPARATOR",
}  # fmt: skip


def _char_name(c: str) -> str:
    if "\U000e0000" <= c <= "\U000e007f":
        return "TAG CHARACTER"
    return CHAR_NAMES.get(c) or unicodedata.name(c, f"U+{ord(c):04X}")


def _part_of_text(value: str, at: int) -> bool:
    """Joiners and invisible marks inside emoji sequences or non-Latin scripts (Persian, Indic, Khmer) are part
    of that text; the trick is hiding them among ASCII."""
    before = value[at - 1] if at > 0 else ""
    after = value[at + 1] if at + 1 < len(value) else ""
    for neighbour in (before, after):
        if neighbour and not neighbour.isascii() and not INVISIBLE_CHARS.match(neighbour):
            return True
    return False


def _only_invisible(value: str) -> bool:
    inner = value.strip("'\"bBrRuUfF")
    return bool(inner) and not INVISIBLE_CHARS.sub("", inner).strip()


@python_rule(INVISIBLE)
def check_invisible(src: SourceFile) -> Iterator[Hit]:
    text = src.text or ""
    if text.isascii() or not INVISIBLE_CHARS.search(text):
        return
    reported = 0
    seen_names: set[str] = set()
    for tok in _tokens(src):
        if tok.type not in (token.NAME, *STRING_TOKENS):
            continue
        found = [(m.start(), m.group(0)) for m in INVISIBLE_CHARS.finditer(tok.string)]
        if not found:
            continue
        if tok.type == token.NAME:
            if tok.string in seen_names:
                continue
            seen_names.add(tok.string)
            names = sorted({_char_name(c) for _, c in found})
            yield Hit(f"the identifier {tok.string!r} contains invisible characters ({', '.join(names)})", line=tok.start[0], severity="high")
        else:
            suspicious = [(at, c) for at, c in found if c >= "\U000e0000" or not _part_of_text(tok.string, at)]
            if not suspicious or _only_invisible(tok.string):
                continue  # emoji/Indic joiners, or a constant naming the character itself
            names = sorted({_char_name(c) for _, c in suspicious})
            tags = sum(1 for _, c in suspicious if c >= "\U000e0000")
            extra = f"; {tags} tag characters hide text" if tags >= 4 else ""
            yield Hit(f"a string contains invisible characters ({', '.join(names)}){extra}", line=tok.start[0])
        reported += 1
        if reported >= 5:
            return
