"""The registry's search index: relevance on the real ElizaOS catalogue, every filter alone and combined, facets,
statuses, newest-version collapse, pagination, bad input, persistence, and filter-only searches against a
brute-force model of the same rules (hypothesis)."""

from __future__ import annotations

import json
import os
import random
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from plugyard_registry import search as search_module
from plugyard_registry import search_text
from plugyard_registry.search import (
    InvalidDocument,
    InvalidSearch,
    SearchDocument,
    SearchIndex,
    SearchQuery,
    SearchResult,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
PUBLISHERS = ("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
              "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB", "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb")
PERMISSIONS = ("network", "filesystem", "subprocess", "env", "native")
SETTINGS = settings(max_examples=int(os.environ.get("PLUGYARD_HYPOTHESIS_EXAMPLES", "40")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def doc(name: str, version: str = "1.0.0", *, summary: str = "", description: str = "", keywords: Iterable[str] = (),
        categories: Iterable[str] = (), license: str | None = "MIT", authors: Iterable[str] = ("Ada Lovelace <ada@example.org>",),
        publisher: str = PUBLISHERS[0], permissions: Iterable[str] = (), host: str = ">=1.0,<2", status: str = "cleared",
        yanked: bool = False, day: float = 0) -> SearchDocument:
    return SearchDocument(
        name=name, version=version, summary=summary, description=description, keywords=tuple(keywords),
        categories=tuple(categories), license=license, authors=tuple(authors), publisher=publisher,
        permissions=tuple(permissions), host=host, status=status, yanked=yanked, published_at=T0 + timedelta(days=day),
    )


@pytest.fixture
def index() -> Iterator[SearchIndex]:
    with SearchIndex() as ix:
        yield ix


def names(result: SearchResult) -> list[str]:
    return [hit.name for hit in result.hits]


# ---------------------------------------------------------------------------------------------------------------
# the real catalogue


def eliza_registry() -> Path | None:
    env = os.environ.get("PLUGYARD_ELIZAOS_DATA")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for base in here.parents:
        for candidate in (base / "shared/data/elizaos-registry", base.parent / "shared/data/elizaos-registry"):
            if (candidate / "generated-registry.json").exists():
                return candidate / "generated-registry.json"
    return None


def categories_of(text: str, topics: list[str]) -> tuple[str, ...]:
    rules = (
        ("social", r"twitter|discord|telegram|farcaster|slack|lens|xmtp|wechat|mattermost|social"),
        ("defi", r"trad|defi|dex|swap|exchange|perp|arbitrage|market"),
        ("blockchain", r"blockchain|chain|crypto|token|wallet|web3"),
        ("ai", r"\bai\b|agent|llm|model"),
    )
    found = tuple(cat for cat, pattern in rules if re.search(pattern, text + " " + " ".join(topics)))
    return found or ("tools",)


def eliza_documents(path: Path) -> list[SearchDocument]:
    registry = json.loads(path.read_text())["registry"]
    documents, taken = [], set()
    for i, (package, entry) in enumerate(sorted(registry.items())):
        scope, _, short = package.lstrip("@").rpartition("/")
        name = canonicalize_name(short)
        if name in taken:
            name = canonicalize_name(f"{scope}-{short}")
        taken.add(name)
        description = (entry.get("description") or "").strip()
        topics = [t for t in entry.get("topics") or [] if t]
        permissions = [p for p, every in zip(PERMISSIONS, (2, 5, 7, 3, 11)) if i % every == 0]
        documents.append(doc(
            name, summary=description.split(". ")[0][:120], description=description, keywords=topics,
            categories=categories_of(f"{name} {description}".lower(), topics), license=("MIT", "Apache-2.0", "BSD-3-Clause", None)[i % 4],
            authors=(f"{scope or 'community'} maintainers",), publisher=PUBLISHERS[sum(map(ord, scope)) % len(PUBLISHERS)],
            permissions=permissions, host=(">=1.0,<2", ">=1.2,<2", ">=2.0,<3", "")[i % 4], day=i / 24,
        ))
    return documents


@pytest.fixture(scope="module")
def eliza() -> list[SearchDocument]:
    path = eliza_registry()
    if path is None:
        pytest.skip("shared/data/elizaos-registry not found (set PLUGYARD_ELIZAOS_DATA)")
    return eliza_documents(path)


@pytest.fixture(scope="module")
def eliza_index(eliza: list[SearchDocument]) -> Iterator[SearchIndex]:
    with SearchIndex() as ix:
        ix.upsert_many(eliza)
        yield ix


def text_of(d: SearchDocument) -> str:
    return " ".join((d.name, d.summary, d.description, *d.keywords)).lower()


@pytest.mark.parametrize(("query", "expected"), [
    ("twitter", r"twitter"),
    ("discord", r"discord"),
    ("solana wallet", r"solana"),
    ("polymarket", r"polymarket"),
    ("twiter", r"twitter"),  # typos
    ("tradng", r"trad"),
    ("telgram", r"telegram"),
    ("telegarm", r"telegram"),  # a transposition
    ("polymarkt", r"polymarket"),
    ("hyperliqiud", r"hyperliquid"),
    ("blockchian wallet", r"blockchain|wallet"),
])
def test_real_catalogue_queries_find_the_right_plugins_in_the_top_3(eliza_index: SearchIndex, eliza: list[SearchDocument],
                                                                    query: str, expected: str) -> None:
    relevant = {d.name for d in eliza if re.search(expected, text_of(d))}
    top = [h.name for h in eliza_index.search(SearchQuery(text=query, limit=3)).hits]
    assert len(top) >= min(3, len(relevant)) and set(top[:3]) <= relevant, (query, top)


def test_a_plugins_whole_name_puts_it_first(eliza_index: SearchIndex) -> None:
    assert eliza_index.search(SearchQuery(text="plugin-hyperliquid")).hits[0].name == "plugin-hyperliquid"
    assert eliza_index.search(SearchQuery(text="client_twitter")).hits[0].name == "client-twitter"  # PEP 503 spelling


def test_text_and_filters_together_are_the_intersection(eliza_index: SearchIndex) -> None:
    filters = dict(categories=("blockchain",), licenses=("MIT", "Apache-2.0"), without_permissions=("native",))
    text_only = {h.name for h in eliza_index.search(SearchQuery(text="token wallet", limit=1000)).hits}
    filters_only = {h.name for h in eliza_index.search(SearchQuery(limit=1000, **filters)).hits}
    both = eliza_index.search(SearchQuery(text="token wallet", limit=1000, **filters))
    assert {h.name for h in both.hits} == text_only & filters_only
    assert both.total == len(text_only & filters_only) > 0


# ---------------------------------------------------------------------------------------------------------------
# ranking rules on small catalogues


def test_exact_matches_rank_above_typo_matches(index: SearchIndex) -> None:
    index.upsert_many([
        doc("waller-kit", summary="Tools", description="Nothing to see."),  # 'waller' is one edit from 'wallet': in the name
        doc("beta", description="Manage your wallte today"),  # a transposition
        doc("alpha-tools", description="Holds the keys of a wallet, among many other things it does for you."),
        doc("text-summarizer", description="A summarizer of long text"),
        doc("summarize-lite", description="Will summarize text"),
    ])
    hits = index.search(SearchQuery(text="wallet")).hits
    assert [h.name for h in hits][0] == "alpha-tools"
    assert {h.name for h in hits} == {"alpha-tools", "waller-kit", "beta"}
    assert hits[0].score > max(h.score for h in hits[1:])
    hits = index.search(SearchQuery(text="summarizer")).hits
    assert [h.name for h in hits] == ["text-summarizer", "summarize-lite"]
    assert hits[0].score > hits[1].score
    assert {h.name for h in index.search(SearchQuery(text="sumarizer")).hits} == {"text-summarizer", "summarize-lite"}


def test_short_words_are_not_fuzzy(index: SearchIndex) -> None:
    index.upsert_many([doc("cat-tool", description="a cat"), doc("bat-tool", description="a bat")])
    assert names(index.search(SearchQuery(text="cat"))) == ["cat-tool"]


def test_name_words_split_on_dashes(index: SearchIndex) -> None:
    index.upsert_many([doc("bars-textkit", summary="Text utilities"), doc("textkit", summary="Other"), doc("bars", day=1)])
    assert set(names(index.search(SearchQuery(text="textkit")))) == {"bars-textkit", "textkit"}
    assert set(names(index.search(SearchQuery(text="bars")))) == {"bars-textkit", "bars"}
    for spelling in ("bars-textkit", "Bars_TextKit", "bars.textkit"):
        assert names(index.search(SearchQuery(text=spelling)))[0] == "bars-textkit"


def test_all_words_must_match_unless_too_few_texts_have_them_all(index: SearchIndex) -> None:
    index.upsert_many([doc(f"solana-wallet-{i}", description="solana wallet") for i in range(search_text.AND_MIN)]
                      + [doc("solana-dex", description="solana trading"), doc("evm-wallet", description="ethereum wallet")])
    assert len(names(index.search(SearchQuery(text="solana wallet")))) == search_text.AND_MIN
    either = names(index.search(SearchQuery(text="ethereum wallet")))  # only one text has both: any word will do
    assert either[0] == "evm-wallet" and set(either) == {"evm-wallet"} | {f"solana-wallet-{i}" for i in range(search_text.AND_MIN)}


def test_empty_text_lists_everything(index: SearchIndex) -> None:
    index.upsert_many([doc("b-plugin", day=3), doc("a-plugin", day=1), doc("c-plugin", day=2), doc("d-plugin", status="pending")])
    assert names(index.search(SearchQuery(sort="name"))) == ["a-plugin", "b-plugin", "c-plugin"]
    assert names(index.search(SearchQuery(sort="newest"))) == ["b-plugin", "c-plugin", "a-plugin"]
    assert names(index.search(SearchQuery())) == ["b-plugin", "c-plugin", "a-plugin"]  # relevance without text = newest
    assert names(index.search(SearchQuery(text="   "))) == ["b-plugin", "c-plugin", "a-plugin"]
    assert index.search(SearchQuery(limit=0)).total == 3


# ---------------------------------------------------------------------------------------------------------------
# statuses, yanks, versions


def test_default_shows_installable_unyanked_versions_and_statuses_widen_it() -> None:
    docs = [doc("cleared-one"), doc("warned-one", status="warned"), doc("pending-one", status="pending"),
            doc("quarantined-one", status="quarantined"), doc("yanked-one", yanked=True)]
    with SearchIndex() as ix, SearchIndex(allow_pending=True) as dev:
        ix.upsert_many(docs)
        dev.upsert_many(docs)
        assert set(names(ix.search(SearchQuery()))) == {"cleared-one", "warned-one"}
        assert set(names(dev.search(SearchQuery()))) == {"cleared-one", "warned-one", "pending-one"}
        assert set(names(ix.search(SearchQuery(statuses=("pending", "quarantined"))))) == {"pending-one", "quarantined-one"}
        assert set(names(ix.search(SearchQuery(statuses=("cleared",), include_yanked=True)))) == {"cleared-one", "yanked-one"}
        everything = ix.search(SearchQuery(statuses=("pending", "cleared", "warned", "quarantined"), include_yanked=True))
        assert everything.total == 5
        hit = next(h for h in everything.hits if h.name == "yanked-one")
        assert hit.yanked and hit.status == "cleared"


def test_a_status_change_or_yank_is_visible_at_once(index: SearchIndex) -> None:
    index.upsert(doc("textkit", "1.0.0", description="text tools"))
    index.upsert(doc("textkit", "1.1.0", description="text tools, better", status="pending", day=1))
    assert [(h.name, h.version) for h in index.search(SearchQuery(text="text")).hits] == [("textkit", "1.0.0")]
    index.upsert(doc("textkit", "1.1.0", description="text tools, better", status="cleared", day=1))
    assert [(h.name, h.version) for h in index.search(SearchQuery(text="text")).hits] == [("textkit", "1.1.0")]
    index.upsert(doc("textkit", "1.1.0", description="text tools, better", status="quarantined", day=1))
    assert [h.version for h in index.search(SearchQuery(text="text")).hits] == ["1.0.0"]
    index.upsert(doc("textkit", "1.0.0", description="text tools", yanked=True))
    assert index.search(SearchQuery(text="text")).total == 0
    assert len(index) == 2


def test_one_hit_per_plugin_its_newest_matching_version_in_pep440_order(index: SearchIndex) -> None:
    index.upsert_many([doc("textkit", "1.0.0", permissions=("native",)), doc("textkit", "1.10.0", day=2), doc("textkit", "1.9.0", day=1)])
    result = index.search(SearchQuery(text="textkit"))
    assert [(h.name, h.version) for h in result.hits] == [("textkit", "1.10.0")] and result.total == 1
    assert index.search(SearchQuery(with_permissions=("native",))).hits[0].version == "1.0.0"  # newest *matching*
    index.upsert(doc("textkit", "1.9.1", day=3))  # published below 1.10.0
    index.upsert(doc("textkit", "1.10.0", status="quarantined", day=2))
    assert index.search(SearchQuery(text="textkit")).hits[0].version == "1.9.1"
    index.remove("textkit", "1.9.1")
    assert index.search(SearchQuery(text="textkit")).hits[0].version == "1.9.0"
    assert index.get("textkit", "1.9.1") is None and index.get("TextKit", "1.9.0") is not None
    assert len(index) == 3


def test_many_versions_and_plugins_keep_collapsing_right(index: SearchIndex) -> None:
    """Versions published in every order, blocks growing and being reused."""
    order = [f"{major}.{minor}.0" for major in range(3) for minor in range(12)]
    for n, version in enumerate(order[::2] + order[1::2][::-1]):
        index.upsert(doc("grower", version, day=n))
        index.upsert(doc(f"small-{n % 5}", f"0.{n}.0", day=n))
    assert index.search(SearchQuery(text="grower")).hits[0].version == "2.11.0"
    assert index.search(SearchQuery(sort="name", limit=100)).total == 6
    for version in order[::-1][:20]:
        index.remove("grower", version)
    assert index.search(SearchQuery(text="grower")).hits[0].version == order[-21]


# ---------------------------------------------------------------------------------------------------------------
# filters and facets against a brute-force model


def installable(d: SearchDocument, statuses: tuple[str, ...], include_yanked: bool) -> bool:
    return d.status in statuses and (include_yanked or not d.yanked)


def aliases(author: str) -> set[str]:
    full = author.strip().lower()
    found = {full}
    if "<" in full and full.endswith(">"):
        person, _, email = full[:-1].partition("<")
        found |= {person.strip(), email.strip()}
    return found - {""}


def host_contains(host: str, version: str) -> bool:
    try:
        return SpecifierSet(host).contains(Version(version), prereleases=True)
    except InvalidSpecifier:
        return False


def model(docs: Iterable[SearchDocument], q: SearchQuery, allow_pending: bool = False) -> tuple[list[tuple[str, str]], dict[str, dict[str, int]]]:
    """The hits (name, version), in order, and the facets of a filter-only query, computed the slow, obvious way."""
    statuses = q.statuses or (("cleared", "warned", "pending") if allow_pending else ("cleared", "warned"))

    docs = list(docs)
    words = set(re.findall(r"[a-z0-9]+", (q.text or "").lower()))
    texts = {(d.name, d.summary, d.description, d.keywords) for d in docs if words <= set(re.findall(r"[a-z0-9]+", text_of(d)))}
    every = len(words) < 2 or len(texts) >= search_text.AND_MIN  # else any word will do

    def matches(d: SearchDocument) -> bool:
        written = set(re.findall(r"[a-z0-9]+", text_of(d)))  # text: the words as written, no typos
        if words and not (words <= written if every else words & written):
            return False
        cats = {c.strip().lower() for c in d.categories}
        kws = {k.strip().lower() for k in d.keywords}
        people = set().union(*(aliases(a) for a in d.authors)) if d.authors else set()
        return (
            installable(d, statuses, q.include_yanked)
            and all(c.lower() in cats for c in q.categories)
            and all(k.lower() in kws for k in q.keywords)
            and all(a.lower() in people for a in q.authors)
            and (not q.licenses or (d.license or "").lower() in {x.lower() for x in q.licenses})
            and (q.publisher is None or d.publisher.lower() == q.publisher.lower())
            and all(p in d.permissions for p in q.with_permissions)
            and not any(p in d.permissions for p in q.without_permissions)
            and (q.host_version is None or host_contains(d.host, q.host_version))
        )

    newest: dict[str, SearchDocument] = {}
    for d in docs:
        if matches(d) and (d.name not in newest or Version(d.version) > Version(newest[d.name].version)):
            newest[d.name] = d
    hits = sorted(newest.values(), key=lambda d: d.name)
    if q.sort != "name":
        hits.sort(key=lambda d: d.published_at, reverse=True)
    facets = {
        "category": Counter(c.strip().lower() for d in hits for c in dict.fromkeys(d.categories)),
        "license": Counter(d.license for d in hits if d.license),
        "permission": Counter(p for d in hits for p in set(d.permissions)),
    }
    return [(d.name, d.version) for d in hits], {k: dict(v) for k, v in facets.items()}


def check_against_model(ix: SearchIndex, docs: Iterable[SearchDocument], q: SearchQuery) -> None:
    expected_hits, expected_facets = model(docs, q, ix.allow_pending)
    result = ix.search(replace(q, limit=1000, offset=0))
    assert [(h.name, h.version) for h in result.hits] == expected_hits, q
    assert result.total == len(expected_hits)
    assert result.facets == expected_facets, q


ELIZA_FILTERS = [
    SearchQuery(categories=("social",)),
    SearchQuery(categories=("Blockchain", "defi")),
    SearchQuery(keywords=("crypto",)),
    SearchQuery(keywords=("crypto", "elizaos-plugin")),
    SearchQuery(licenses=("mit",)),
    SearchQuery(licenses=("MIT", "BSD-3-Clause")),
    SearchQuery(authors=("elizaos maintainers",)),
    SearchQuery(publisher=PUBLISHERS[1].lower()),
    SearchQuery(with_permissions=("network",)),
    SearchQuery(with_permissions=("network", "env")),
    SearchQuery(without_permissions=("native", "subprocess")),
    SearchQuery(host_version="1.5"),
    SearchQuery(host_version="2.1"),
    SearchQuery(statuses=("cleared",), sort="name"),
    SearchQuery(categories=("defi",), licenses=("Apache-2.0", "MIT"), with_permissions=("network",),
                without_permissions=("native",), host_version="1.3", sort="name"),
    SearchQuery(keywords=("elizaos-plugin",), publisher=PUBLISHERS[2], host_version="1.0", sort="newest"),
]


@pytest.mark.parametrize("query", ELIZA_FILTERS, ids=lambda q: ",".join(f"{k}={v}" for k, v in vars(q).items() if v and k not in ("limit",)))
def test_each_filter_alone_and_combined_matches_the_model(eliza_index: SearchIndex, eliza: list[SearchDocument], query: SearchQuery) -> None:
    check_against_model(eliza_index, eliza, query)


@pytest.mark.parametrize("text", ["plugin", "wallet", "tradng", "twitter bot", "agent"])
def test_facets_count_the_matching_plugins(eliza_index: SearchIndex, text: str) -> None:
    result = eliza_index.search(SearchQuery(text=text, limit=1000))
    assert result.total == len(result.hits) > 0
    assert result.facets["category"] == dict(Counter(c for h in result.hits for c in h.categories))
    assert result.facets["license"] == dict(Counter(h.license for h in result.hits if h.license))
    assert result.facets["permission"] == dict(Counter(p for h in result.hits for p in h.permissions))
    paged = eliza_index.search(SearchQuery(text=text, limit=2, offset=1))
    assert paged.facets == result.facets and paged.total == result.total  # before pagination


@pytest.mark.parametrize("sort", ["relevance", "name", "newest"])
@pytest.mark.parametrize("text", [None, "plugin", "twiter", "blockchain token"])
def test_pages_concatenate_to_the_full_ordering(eliza_index: SearchIndex, text: str | None, sort: str) -> None:
    full = eliza_index.search(SearchQuery(text=text, sort=sort, limit=1000))
    pages, offset = [], 0
    while offset < full.total + 7:
        page = eliza_index.search(SearchQuery(text=text, sort=sort, limit=7, offset=offset))
        assert page.total == full.total
        pages += page.hits
        offset += 7
    assert [(h.name, h.version, h.score) for h in pages] == [(h.name, h.version, h.score) for h in full.hits]
    assert len({h.name for h in full.hits}) == full.total
    if sort == "relevance" and text:
        assert [h.score for h in full.hits] == sorted((h.score for h in full.hits), reverse=True)
    elif text:  # a hit scores the same whatever the order
        by_relevance = {h.name: h.score for h in eliza_index.search(SearchQuery(text=text, limit=1000)).hits}
        assert {h.name: h.score for h in full.hits} == by_relevance


def test_host_version_filter(index: SearchIndex) -> None:
    index.upsert_many([doc("for-one", host=">=1.0,<2"), doc("for-two", host=">=2.0"), doc("for-any", host=""),
                       doc("for-one-five", host="~=1.5"), doc("broken-host", host="not a specifier")])
    assert set(names(index.search(SearchQuery(host_version="1.5")))) == {"for-one", "for-any", "for-one-five"}
    assert set(names(index.search(SearchQuery(host_version="2.1")))) == {"for-two", "for-any"}
    assert set(names(index.search(SearchQuery(host_version="1.0")))) == {"for-one", "for-any"}
    assert set(names(index.search(SearchQuery(host_version="1.6.0rc1")))) == {"for-one", "for-any", "for-one-five"}  # pre-release host
    assert "broken-host" in names(index.search(SearchQuery()))


# ---------------------------------------------------------------------------------------------------------------
# bad input


@pytest.mark.parametrize(("field", "query"), [
    ("limit", SearchQuery(limit=-1)),
    ("limit", SearchQuery(limit=1001)),
    ("offset", SearchQuery(offset=-5)),
    ("sort", SearchQuery(sort="popular")),
    ("statuses", SearchQuery(statuses=("cleared", "deleted"))),
    ("host_version", SearchQuery(host_version="one point two")),
    ("with_permissions", SearchQuery(with_permissions=("internet",))),
    ("without_permissions", SearchQuery(without_permissions=("root",))),
    ("categories", SearchQuery(categories="ai")),  # type: ignore[arg-type]
    ("text", SearchQuery(text="x" * 501)),
])
def test_invalid_queries_name_the_field(index: SearchIndex, field: str, query: SearchQuery) -> None:
    with pytest.raises(InvalidSearch) as caught:
        index.search(query)
    assert caught.value.field == field and isinstance(caught.value, ValueError) and field in str(caught.value)


def test_invalid_documents_change_nothing(index: SearchIndex) -> None:
    index.upsert(doc("fine"))
    for bad, field in ((doc("x", status="gone"), "status"), (doc("x", permissions=("root",)), "permissions"),
                       (replace(doc("x"), keywords="ai"), "keywords"), (doc("", ), "name")):
        with pytest.raises(InvalidDocument) as caught:
            index.upsert_many([doc("also-fine"), bad])
        assert caught.value.field == field
    assert len(index) == 1 and names(index.search(SearchQuery())) == ["fine"]


# ---------------------------------------------------------------------------------------------------------------
# persistence and the text index's background commits


def test_an_index_in_a_directory_comes_back(tmp_path: Path, eliza: list[SearchDocument]) -> None:
    queries = [SearchQuery(text="wallet"), SearchQuery(categories=("social",), sort="name"), SearchQuery(text="tradng", limit=5)]
    with SearchIndex(tmp_path / "search") as ix:
        ix.upsert_many(eliza[:200])
        ix.upsert(replace(eliza[0], version="2.0.0", status="pending", description="a new text"))
        before = [ix.search(q) for q in queries]
    with SearchIndex(tmp_path / "search") as ix:
        assert len(ix) == 201
        assert [ix.search(q) for q in queries] == before
        ix.remove(eliza[1].name, eliza[1].version)
        ix.upsert(replace(eliza[0], version="2.0.0", status="cleared", description="a new text"))
    with SearchIndex(tmp_path / "search") as ix:
        assert len(ix) == 200 and ix.get(eliza[1].name, eliza[1].version) is None
        assert ix.search(SearchQuery(text="new text")).hits[0].name == eliza[0].name


def test_texts_not_yet_committed_match_like_committed_ones(monkeypatch: pytest.MonkeyPatch, eliza: list[SearchDocument]) -> None:
    """Until the background commit lands, new texts are matched in Python: same plugins as Tantivy finds."""
    docs = [d for d in eliza if d.description][:search_text.FRESH_MAX]
    queries = ["wallet", "tradng", "blockchain token", "twiter", "solana zebra", "plugin-solana", "telegarm", "discord"]
    with SearchIndex() as committed:
        committed.upsert_many(docs)
        committed.flush()
        expected = {q: committed.search(SearchQuery(text=q, limit=100)) for q in queries}
    original = search_text.TextIndex._wake
    monkeypatch.setattr(search_text.TextIndex, "_wake", lambda self: None)  # the committer never starts
    fresh = SearchIndex()
    try:
        fresh.upsert_many(docs)
        assert fresh._text.backlog == len(docs)
        for q in queries:
            got = fresh.search(SearchQuery(text=q, limit=100))
            assert {h.name for h in got.hits} == {h.name for h in expected[q].hits}, q
            assert got.total == expected[q].total and got.facets == expected[q].facets, q
    finally:
        monkeypatch.undo()
        with fresh._text._cond:
            original(fresh._text)
        fresh.close()


def test_a_new_version_is_found_right_after_it_is_published(index: SearchIndex) -> None:
    index.upsert_many([doc(f"filler-{i}", description=f"filler number {i}") for i in range(50)])
    index.flush()
    for i in range(5):
        index.upsert(doc(f"fresh-{i}", description=f"brand new zanzibar gadget {i}"))
        assert f"fresh-{i}" in names(index.search(SearchQuery(text="zanzibar", limit=100)))
        assert f"fresh-{i}" in names(index.search(SearchQuery(text="zanzibr", limit=100)))  # with a typo too


# ---------------------------------------------------------------------------------------------------------------
# hypothesis: filter-only searches equal a brute-force filter

NAMES = ("alpha", "beta-kit", "gamma", "delta-tools", "eps")
VERSIONS = ("0.1", "0.2", "1.0", "1.0.1", "1.2", "1.10", "2.0rc1", "2.0")
documents = st.builds(
    doc,
    st.sampled_from(NAMES),
    st.sampled_from(VERSIONS),
    description=st.sampled_from(("", "zebra", "zebra quokka", "walrus", "quokka walrus ocelot")),  # no word a typo of another
    keywords=st.lists(st.sampled_from(("crypto", "Bots", "web3")), max_size=2, unique=True),
    categories=st.lists(st.sampled_from(("ai", "Social", "data")), max_size=2, unique=True),
    license=st.sampled_from(("MIT", "Apache-2.0", None)),
    authors=st.lists(st.sampled_from(("Ada <ada@example.org>", "Bob", "Cy Young <cy@example.org>")), max_size=2, unique=True),
    publisher=st.sampled_from(PUBLISHERS[:2]),
    permissions=st.lists(st.sampled_from(PERMISSIONS), max_size=3, unique=True),
    host=st.sampled_from((">=1.0,<2", ">=2", "", "==1.5.*", "not a specifier")),
    status=st.sampled_from(("pending", "cleared", "warned", "quarantined")),
    yanked=st.booleans(),
    day=st.integers(0, 5),
)
queries = st.builds(
    SearchQuery,
    categories=st.lists(st.sampled_from(("ai", "social", "DATA")), max_size=2, unique=True).map(tuple),
    keywords=st.lists(st.sampled_from(("crypto", "bots")), max_size=1).map(tuple),
    licenses=st.lists(st.sampled_from(("mit", "Apache-2.0")), max_size=2, unique=True).map(tuple),
    authors=st.lists(st.sampled_from(("ada", "bob", "cy@example.org")), max_size=1).map(tuple),
    publisher=st.sampled_from((None, None, PUBLISHERS[0].lower())),
    with_permissions=st.lists(st.sampled_from(PERMISSIONS), max_size=2, unique=True).map(tuple),
    without_permissions=st.lists(st.sampled_from(PERMISSIONS), max_size=1).map(tuple),
    host_version=st.sampled_from((None, None, "1.5", "2.0", "1.0")),
    statuses=st.sampled_from((None, None, ("pending",), ("cleared", "quarantined"))),
    include_yanked=st.booleans(),
    sort=st.sampled_from(("name", "newest", "relevance")),
)
text_queries = st.builds(replace, queries, text=st.sampled_from(("zebra", "quokka", "walrus", "zebra walrus", "narwhal")), sort=st.just("name"))


def latest(docs: Iterable[SearchDocument]) -> list[SearchDocument]:
    """The last document written for each (name, version): what an index holds after upserting them in order."""
    return list({(d.name, d.version): d for d in docs}.values())


@SETTINGS
@given(catalogue=st.lists(documents, max_size=30), qs=st.lists(queries, min_size=1, max_size=4), allow_pending=st.booleans())
def test_filter_only_searches_equal_a_brute_force_filter(catalogue: list[SearchDocument], qs: list[SearchQuery], allow_pending: bool) -> None:
    with SearchIndex(allow_pending=allow_pending) as ix:
        ix.upsert_many(catalogue)
        for q in qs:
            check_against_model(ix, latest(catalogue), q)


operations = st.lists(st.one_of(
    st.tuples(st.just("upsert"), documents),
    st.tuples(st.just("remove"), st.tuples(st.sampled_from(NAMES), st.sampled_from(VERSIONS))),
), min_size=1, max_size=40)


@pytest.mark.parametrize(("compact", "walk"), [(False, 4), (True, 0), (False, 10**9)], ids=["", "compacting+by-plugin", "by-version"])
@SETTINGS
@given(ops=operations, q=st.one_of(queries, text_queries))
def test_after_any_writes_searches_equal_a_brute_force_filter(compact: bool, walk: int, ops: list, q: SearchQuery) -> None:
    """One write at a time (so blocks grow, move and are reused; with `compact`, re-laid out whenever any is free),
    checking after each. Text queries use words that are no typo of each other, so the model can match them exactly;
    `walk` picks how text matches become hits (plugin by plugin, or version by version)."""
    held: dict[tuple[str, str], SearchDocument] = {}
    with (patch.object(search_module, "COMPACT_MIN", 0 if compact else search_module.COMPACT_MIN),
          patch.object(search_module, "PLUGIN_WALK", walk), SearchIndex() as ix):
        for kind, arg in ops:
            if kind == "upsert":
                ix.upsert(arg)
                held[(arg.name, arg.version)] = arg
            else:
                ix.remove(*arg)
                held.pop(arg, None)
            check_against_model(ix, held.values(), q)
            check_against_model(ix, held.values(), SearchQuery(statuses=("pending", "cleared", "warned", "quarantined"), include_yanked=True))
        assert len(ix) == len(held)


def test_bulk_loads_then_single_writes_equal_a_brute_force_filter() -> None:
    """Batches big enough to be laid out later, in bulk, then the steady state of one write at a time."""
    rng = random.Random(5)
    pool = [(f"plugin-{i}", f"{major}.{minor}") for i in range(120) for major in range(3) for minor in range(rng.randint(1, 6))]
    rng.shuffle(pool)

    def random_doc(name: str, version: str) -> SearchDocument:
        return doc(
            name, version, categories=rng.sample(("ai", "social", "data", "media"), rng.randint(0, 2)),
            license=rng.choice(("MIT", "Apache-2.0", None)), permissions=rng.sample(PERMISSIONS, rng.randint(0, 3)),
            host=rng.choice((">=1.0,<2", ">=2", "")), status=rng.choice(("cleared", "cleared", "warned", "pending", "quarantined")),
            yanked=rng.random() < 0.1, day=rng.randint(0, 400) / 4, keywords=rng.sample(("crypto", "bots", "web3"), rng.randint(0, 2)),
        )

    checks = [
        SearchQuery(sort="name"), SearchQuery(sort="newest", categories=("ai",)), SearchQuery(with_permissions=("network",), host_version="1.4"),
        SearchQuery(statuses=("pending", "quarantined"), include_yanked=True, sort="name"), SearchQuery(licenses=("mit",), keywords=("bots",)),
    ]
    held: dict[tuple[str, str], SearchDocument] = {}
    with SearchIndex() as ix:
        for start in range(0, len(pool), 400):
            batch = [random_doc(*key) for key in pool[start:start + 400]]
            ix.upsert_many(batch)
            held.update(((d.name, d.version), d) for d in batch)
        for q in checks:
            check_against_model(ix, held.values(), q)
        for key in rng.sample(sorted(held), 60):
            if rng.random() < 0.2:
                ix.remove(*key)
                del held[key]
            else:
                held[key] = random_doc(*key)
                ix.upsert(held[key])
        for q in checks:
            check_against_model(ix, held.values(), q)
