"""Name imitation: look-alikes, separators, affixes, word order and typos, fast against many names."""

from __future__ import annotations

import random
import string
import time

import pytest

from plugyard_analysis.typosquat import NameIndex, core, distance, imitated, imitations, index_for, normalize, skeleton

KNOWN = [
    "requests", "numpy", "text-kit", "markdown-render", "pdf-tools", "image-resizer-pro", "yaml", "colorama",
    "django-rest-framework", "python-dateutil", "slack-notifier",
]


@pytest.mark.parametrize(
    "name, original",
    [
        ("reqeusts", "requests"),  # transposition
        ("requ3sts", "requests"),  # substitution
        ("colourama", "colorama"),  # insertion
        ("nunpy", "numpy"),
        ("nurnpy", "numpy"),  # rn for m
        ("n0mpy", "numpy"),  # 0 for o... and u: one edit on the skeleton
        ("textkit", "text-kit"),  # separators
        ("tеxt-kit", "text-kit"),  # Cyrillic е
        ("slack-notlfier", "slack-notifier"),  # i/l
        ("python-requests", "requests"),  # affixes
        ("requests-plugin", "requests"),
        ("pyrequests", "requests"),
        ("requests2", "requests"),
        ("pdf-tools-official", "pdf-tools"),
        ("dateutil", "python-dateutil"),
        ("pyyaml", "yaml"),
        ("tools-pdf", "pdf-tools"),  # word order
        ("rest-django-framework", "django-rest-framework"),
        ("django-rest-framewrok", "django-rest-framework"),
        ("imagee-resizer-pr", "image-resizer-pro"),  # two edits on a long name
        ("python-reqeusts", "requests"),  # affix and typo
    ],
)
def test_imitations_are_found(name: str, original: str) -> None:
    assert imitated(name, KNOWN) == original


@pytest.mark.parametrize("name", ["requests", "Requests", "text_kit", "Text.Kit", "numpy", "markdown", "pdf-merge", "totally-different", "image-tools", "slack"])
def test_own_names_and_unrelated_names_are_not_imitations(name: str) -> None:
    assert imitated(name, KNOWN) is None


def test_short_names_need_an_exact_look_alike() -> None:
    assert imitated("abd", ["abc"]) is None  # one edit on three letters is no imitation
    assert imitated("ab-c", ["abc"]) == "abc"


def test_long_names_allow_two_edits_short_ones_one() -> None:
    assert imitated("colorrammma", ["colorama"]) is None
    assert imitated("markdovvn-rendre", ["markdown-render"]) == "markdown-render"


def test_strongest_resemblance_first() -> None:
    found = imitations("textkit", ["text-kit", "textkits"])
    assert [m.name for m in found] == ["text-kit", "textkits"]
    assert found[0].strength < found[1].strength


def test_normalization_helpers() -> None:
    assert normalize("Text__Kit..Pro") == "text-kit-pro"
    assert skeleton("modern-l1b") == "modemllb"
    assert core("python-requests-plugin") == "requests"
    assert distance("abcd", "abdc", 1) == 1
    assert distance("abcdef", "badcfe", 2) == 3


def _random_names(count: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    names: set[str] = set()
    while len(names) < count:
        length = rng.randint(4, 20)
        name = "".join(rng.choice(string.ascii_lowercase) for _ in range(length))
        if length > 8 and rng.random() < 0.5:
            cut = rng.randint(3, length - 3)
            name = name[:cut] + "-" + name[cut:]
        names.add(name)
    return sorted(names)


def test_index_finds_what_a_brute_force_search_finds() -> None:
    names = _random_names(3000, seed=3)
    index = NameIndex(names)
    rng = random.Random(5)
    for _ in range(80):
        original = rng.choice(names)
        i = rng.randrange(len(original))
        query = original[:i] + rng.choice("xq") + original[i + 1:] if rng.random() < 0.5 else original[:i] + original[i + 1:]
        expected = set()
        normalized = normalize(query)
        for known in names:
            known_normalized = normalize(known)
            if known_normalized == normalized:
                continue
            for a in {skeleton(normalized), core(normalized)}:
                for b in {skeleton(known_normalized), core(known_normalized)}:
                    limit = 2 if len(b) >= 10 else 1
                    if len(b) >= 4 and 0 < distance(a, b, limit) <= limit:
                        expected.add(known)
        found = {m.name for m in index.matches(query) if m.strength == 3}
        assert expected <= found, query


def test_fast_for_100k_known_names() -> None:
    names = _random_names(100_000)
    started = time.perf_counter()
    index = index_for(names)
    built = time.perf_counter() - started
    started = time.perf_counter()
    for name in names[:50]:
        imitated(name[::-1], names)  # reuses the index for the same names
    queried = time.perf_counter() - started
    assert built < 60 and queried < 5, (built, queried)
    extended = names + ["brand-new-plugin"]
    started = time.perf_counter()
    assert imitated("brand-new-plugn", extended) == "brand-new-plugin"
    assert index_for(extended) is index  # extended in place, not rebuilt
    assert time.perf_counter() - started < 2
