"""PY-OBFUSCATED, PY-BIDI, PY-HOMOGLYPH, PY-INVISIBLE-CHAR. Special characters are written as escapes here."""

from __future__ import annotations

import base64
import textwrap

import pytest

from plugyard_analysis.rules.obfuscation import (
    BIDI,
    HOMOGLYPH,
    INVISIBLE,
    OBFUSCATED,
    blob_kind,
    check_bidi,
    check_homoglyph,
    check_invisible,
    check_obfuscated,
)
from plugyard_analysis.sources import parse_python

CHECKS = {"obfuscated": (check_obfuscated, OBFUSCATED), "bidi": (check_bidi, BIDI), "homoglyph": (check_homoglyph, HOMOGLYPH), "invisible": (check_invisible, INVISIBLE)}


def hits(rule: str, code: str) -> list[tuple[str, str]]:
    check, info = CHECKS[rule]
    src = parse_python("sample/mod.py", textwrap.dedent(code).encode("utf-8"))
    return [(hit.severity or info.severity, hit.detail) for hit in check(src)]


def severities(rule: str, code: str) -> list[str]:
    return [severity for severity, _ in hits(rule, code)]


BLOB = base64.b64encode(("import os\nprint(os.getcwd())\n" * 120).encode()).decode()

# --- PY-OBFUSCATED ---------------------------------------------------------------------------------------


def test_blob_executed_is_high() -> None:
    assert severities("obfuscated", f'import base64\nexec(base64.b64decode("{BLOB}"))\n') == ["high"]


def test_blob_in_variable_executed_is_high() -> None:
    assert severities("obfuscated", f'import base64, zlib\nP = "{BLOB}"\ndef go():\n    exec(base64.b64decode(P))\n') == ["high"]


def test_big_blob_alone_is_medium() -> None:
    big = base64.b64encode(bytes(range(256)) * 24).decode()
    assert severities("obfuscated", f'ICON = "{big}"\n') == ["medium"]


def test_small_blob_alone_is_fine() -> None:
    small = base64.b64encode(bytes(range(256)) * 4).decode()
    assert hits("obfuscated", f'ICON = "{small}"\n') == []


def test_confusable_names_with_exec_are_high() -> None:
    code = """
        import zlib as lIlIlIlI
        IlIlIlIl = b"x"
        llIIllII = 1
        def IIllIIll(lIIlIIlI):
            return lIIlIIlI
        exec(lIlIlIlI.decompress(IlIlIlIl))
    """
    assert severities("obfuscated", code) == ["high"]


def test_confusable_names_without_exec_are_medium() -> None:
    code = "\n".join(f"{name} = {i}" for i, name in enumerate(["O0O0O0", "OO00OO", "O0OO0O", "OOO000", "O00O0O"]))
    assert severities("obfuscated", code) == ["medium"]


def test_hex_names() -> None:
    code = "\n".join(f"_0x{i:04x}ab = {i}" for i in range(10, 22))
    assert severities("obfuscated", code) == ["medium"]


def test_pyarmor() -> None:
    assert severities("obfuscated", 'from pytransform import pyarmor_runtime\npyarmor_runtime()\n__pyarmor__(__name__, __file__, b"x")\n') == ["high"]


@pytest.mark.parametrize(
    "code",
    [
        "def f(l, I, O):\n    return l + I + O\n",
        "lllll = 1\nIIIII = 2\n",  # long, but one character repeated
        "CRC = 0xEDB88320\nMASK = 0xFFFFFFFF\n",
        'WORDS = "' + " ".join(f"word{i}" for i in range(2000)) + '"\n',
        'DIGESTS = ["' + '", "'.join(f"{i:064x}" for i in range(40)) + '"]\n',
        "import re\nPATTERN = re.compile('[a-z]+')\neval('1 + 1')\n",
    ],
)
def test_obfuscated_benign(code: str) -> None:
    assert hits("obfuscated", code) == []


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (base64.b64encode(bytes(range(256)) * 8).decode(), "base64"),
        ("\n".join(base64.encodebytes(bytes(range(256)) * 8).decode().split("\n")), "base64"),
        ((bytes(range(256)) * 4).hex(), "hex"),
        ("deadbeef" * 300, None),  # too few distinct characters for encoded data
        ("hello world " * 300, None),
        ("A" * 5000, None),
    ],
)
def test_blob_kind(value: str, kind: str | None) -> None:
    assert blob_kind(value) == kind


# --- PY-BIDI ---------------------------------------------------------------------------------------------


def test_bidi_in_string_is_high() -> None:
    assert severities("bidi", 'if role != "user\u202e \u2066# admin\u2069 \u2066":\n    pass\n') == ["high"]


def test_controls_beside_a_constant_of_controls_still_count() -> None:
    assert severities("bidi", 'CONTROLS = "\u202a\u202b"  # \u202e hidden\n') == ["high"]


def test_bidi_in_comment_is_high() -> None:
    assert severities("bidi", 'x = ["ls"]  # \u2067", "sh"\u2069\n') == ["high"]


def test_bidi_inside_docstring_is_medium() -> None:
    assert severities("bidi", 'def f():\n    """Doc.\n    example \u202e reversed\n    """\n') == ["medium"]


def test_bidi_beside_rtl_text_is_low() -> None:
    assert severities("bidi", 'LABEL = "\u202b\u05e9\u05dc\u05d5\u05dd\u202c"\n') == ["low"]


@pytest.mark.parametrize(
    "code",
    [
        'GREETING = "\u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627"\n',
        'BIDI = "[\\u202a-\\u202e]"\n',  # escapes: the source is ASCII
        'LABEL = "\u05e7\u05d5\u05d1\u05e5\u200f (PDF)"\n',  # RLM is not an embedding control
        'CONTROLS = "\u202a\u202b\u202c\u202d\u202e"\nISOLATES = ["\u2066", "\u2069"]\n',  # constants naming the controls
    ],
)
def test_bidi_benign(code: str) -> None:
    assert hits("bidi", code) == []


# --- PY-HOMOGLYPH ----------------------------------------------------------------------------------------


def test_mixed_cyrillic_identifier() -> None:
    assert severities("homoglyph", "def is_\u0430dmin(user):\n    return True\n") == ["high"]


def test_fullwidth_identifier_folded_by_nfkc() -> None:
    found = hits("homoglyph", "\uff45\uff56\uff41\uff4c('1')\n")
    assert [s for s, _ in found] == ["high"] and "`eval`" in found[0][1]


def test_all_cyrillic_name_shadowing_an_ascii_one() -> None:
    code = "def cop():\n    return 1\n\ndef \u0441\u043e\u0440():\n    return 2\n"
    assert severities("homoglyph", code) == ["high"]


def test_nfkc_folded_name_that_disguises_nothing_only_warns() -> None:
    assert severities("homoglyph", "def f(x\u2090):\n    return x\u2090\n") == ["medium"]


def test_nfkc_folded_spelling_of_an_existing_name_is_high() -> None:
    assert severities("homoglyph", "ok = 1\nif \uff4f\uff4b:\n    pass\n") == ["high"]


def test_all_cyrillic_name_that_shadows_nothing_is_fine() -> None:
    assert hits("homoglyph", "\u0441\u043e\u0440 = 1\n") == []


@pytest.mark.parametrize(
    "code",
    [
        "\u03b1 = 0.5\n\u03c3_x = 1.0\nlam = \u03b1 * \u03c3_x\n",
        "def gr\u00f6\u00dfe(l\u00e4nge):\n    return l\u00e4nge\n",
        'MSG = "\u0441\u043e\u0440 \u0413\u043e\u0442\u043e\u0432\u043e"  # \u0441\u043e\u0440\ncop = 1\n',
        "\u5408\u8ba1 = sum([1, 2])\n",
        "a = 1\n\u03b1 = 2\n",
    ],
)
def test_homoglyph_benign(code: str) -> None:
    assert hits("homoglyph", code) == []


# --- PY-INVISIBLE-CHAR -----------------------------------------------------------------------------------


def test_hangul_filler_identifier_is_high() -> None:
    found = hits("invisible", "def f(timeout=5, \u3164=None):\n    return [\u3164]\n")
    assert [s for s, _ in found] == ["high"]


def test_zero_width_space_in_string_is_medium() -> None:
    assert severities("invisible", 'BLOCKED = {"ad\u200bmin"}\n') == ["medium"]


def test_tag_characters_are_reported() -> None:
    hidden = "".join(chr(0xE0000 + ord(c)) for c in "secret")
    found = hits("invisible", f'D = "text{hidden}"\n')
    assert found and "tag characters" in found[0][1]


@pytest.mark.parametrize(
    "code",
    [
        'FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"\n',
        'FILES = "\u0641\u0627\u06cc\u0644\u200c\u0647\u0627"\n',
        'ZWSP = "\u200b"\n',  # a constant naming the character itself
        'CLEAN = "\\u200b\\u200d"\n',
        "# a comment with a zero\u200bwidth space\nx = 1\n",
        'PRICE = "10\u00a0\u20ac"\n',
        'KHMER = "\u1780\u17b4\u1781"\n',  # an invisible mark inside non-Latin text
    ],
)
def test_invisible_benign(code: str) -> None:
    assert hits("invisible", code) == []
