"""The full-text half of the registry's search: a Tantivy index of the *distinct texts* of plugin versions.

Versions of one plugin usually share their name, summary, description and keywords, so the text index holds one
Tantivy document per distinct (name, summary, description, keywords) — a "text", with a small integer id (tid) —
and `search.SearchIndex` maps each text to the versions that carry it. Status changes, yanks and new versions with
an unchanged text never touch Tantivy; only a new or vanished text is a Tantivy write.

Ranking (BM25 from Tantivy), per query word w:
- exact tier: w in the name (split on `-`) or keywords, or its English stem in the summary or description (so
  "trade" finds "trading") -> a constant `EXACT_TIER` plus BM25 weighted name 4, keywords 2.5, summary 1.5,
  description 1;
- typo tier: w within edit distance 1 (len >= 4) or 2 (len >= 8; a transposition costs 1) of a word in any of
  them -> a constant `FUZZY_SCORE`, plus `FUZZY_NAME_SCORE` when that word is in the name (an exact match gets
  these too).
`EXACT_TIER` exceeds anything BM25 and the typo tier add for one word, so a text matching more words exactly always
ranks above one matching fewer: exact matches above typo matches. Words are ANDed; when fewer than `AND_MIN` texts
have them all and there are several words, they are ORed (the ranking still puts texts matching more of them
first). A query that is a plugin's whole name (PEP 503-normalized) adds `NAME_EXACT_BONUS`.

Writes never wait for Tantivy. A Tantivy commit costs 10-70 ms (more on disk), so adds and deletes are queued and
a background thread commits them and swaps in a fresh searcher; until then the few texts added since the current
searcher ("fresh" texts) are matched in Python with the same rules (their BM25 part approximated by the field
weights), so a search right after a publish finds the new version without waiting for the commit.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import threading
from collections.abc import Container, Sequence
from dataclasses import dataclass
from pathlib import Path

import tantivy
from tantivy import Filter, Occur, Query, TextAnalyzerBuilder, Tokenizer

SCHEMA_VERSION = "3"
WORDS = "plugyard_words"
STEM = "plugyard_stem"
MAX_WORD = 40

EXACT_TIER = 1000.0
FUZZY_SCORE = 0.5
FUZZY_NAME_SCORE = 1.0
AND_MIN = 5  # fewer texts with every word than this: any word will do
NAME_EXACT_BONUS = 50.0
WORD_FIELDS = (("name", 4.0), ("keywords", 2.5))  # matched word for word
STEM_FIELDS = (("summary", 1.5), ("description", 1.0))  # matched by English stem
FUZZY_MIN_1 = 4
FUZZY_MIN_2 = 8
FIRST_SCORED = 512  # texts scored at first; beyond, the set comes by id, unscored (much cheaper), and more are
# scored only when a page needs them (unless the first ones all tie: then all are scored, as the page will need it)

FRESH_MAX = 32  # beyond this many uncommitted texts, a search waits for the commit instead of matching them in Python
IDLE_EXIT_S = 2.0  # the committer thread ends after this long without work (and starts again on the next write)

STOPWORDS = frozenset("a an and are as at be by for from in into is it of on or the this to with".split())


def _analyzer(*, stem: bool) -> tantivy.TextAnalyzer:
    builder = TextAnalyzerBuilder(Tokenizer.simple()).filter(Filter.remove_long(MAX_WORD)).filter(Filter.lowercase())
    builder = builder.filter(Filter.ascii_fold())
    return (builder.filter(Filter.stemmer("english")) if stem else builder).build()


WORDS_ANALYZER = _analyzer(stem=False)
STEM_ANALYZER = _analyzer(stem=True)


def query_words(text: str, max_words: int) -> list[str]:
    """The distinct words of a query as the index sees them; English stop words go when other words remain."""
    words = list(dict.fromkeys(WORDS_ANALYZER.analyze(text)))
    content = [w for w in words if w not in STOPWORDS]
    return (content or words)[:max_words]


def typo_distance(word: str) -> int:
    return 2 if len(word) >= FUZZY_MIN_2 else 1 if len(word) >= FUZZY_MIN_1 else 0


def text_key(name: str, summary: str, description: str, keywords: Sequence[str]) -> str:
    text = "\x00".join((name, summary, description, *keywords))
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def _schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("tkey", stored=True, tokenizer_name="raw", index_option="basic")
    sb.add_unsigned_field("tid", stored=True, indexed=True, fast=True)
    sb.add_text_field("name_exact", tokenizer_name="raw", index_option="basic")
    for field, _ in WORD_FIELDS:
        sb.add_text_field(field, tokenizer_name=WORDS, index_option="freq")
    for field, _ in STEM_FIELDS:
        sb.add_text_field(field, tokenizer_name=STEM, index_option="freq")
    sb.add_text_field("all", tokenizer_name=WORDS, index_option="basic")  # every word as written: typos, no scores
    return sb.build()


def _osa_within(a: str, b: str, limit: int) -> bool:
    """Optimal-string-alignment distance (a transposition costs 1) of a and b is at most `limit`."""
    if abs(len(a) - len(b)) > limit:
        return False
    if a == b:
        return True
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], prev2[j - 2] + 1)
        if min(row) > limit:
            return False
        prev2, prev = prev, row
    return prev[-1] <= limit


@dataclass(frozen=True)
class _Text:
    name: str
    summary: str
    description: str
    keywords: tuple[str, ...]


class _FreshText:
    """A text not yet in the searcher, matched in Python by the same rules as the Tantivy query."""

    def __init__(self, text: _Text) -> None:
        self.name = text.name
        self.words = {
            "name": set(WORDS_ANALYZER.analyze(text.name)),
            "keywords": {w for k in text.keywords for w in WORDS_ANALYZER.analyze(k)},
        }
        self.stems = {"summary": set(STEM_ANALYZER.analyze(text.summary)), "description": set(STEM_ANALYZER.analyze(text.description))}
        self.all = {w for part in (text.name, *text.keywords, text.summary, text.description) for w in WORDS_ANALYZER.analyze(part)}
        self.typos: dict[str, tuple[bool, bool]] = {}  # query word -> within its typo distance of a word here, in the name

    def word_score(self, word: str) -> float:
        """0 when the word does not match; otherwise what the Tantivy clause for it would give, roughly."""
        stems = STEM_ANALYZER.analyze(word)
        stem = stems[0] if stems else word
        boosts = [boost for field, boost in WORD_FIELDS if word in self.words[field]]
        boosts += [boost for field, boost in STEM_FIELDS if stem in self.stems[field]]
        score = 0.0
        if boosts or word in self.all:
            score += EXACT_TIER + sum(boosts)
        distance = typo_distance(word)
        if distance:
            near = self.typos.get(word)
            if near is None:
                near = self.typos[word] = (self._near(word, self.all, distance), self._near(word, self.words["name"], distance))
            score += FUZZY_SCORE * near[0] + FUZZY_NAME_SCORE * near[1]
        return score

    @staticmethod
    def _near(word: str, words: set[str], distance: int) -> bool:
        return word in words or any(_osa_within(word, w, distance) for w in words)

    def score(self, words: Sequence[str], name_exact: str | None, *, every: bool) -> float:
        scores = [self.word_score(w) for w in words]
        if (every and not all(scores)) or not any(scores):
            return 0.0
        return sum(scores) + (NAME_EXACT_BONUS if name_exact and name_exact == self.name else 0.0)


@dataclass
class TextMatch:
    """The texts matching a query. Committed texts: `tids` (every match, in no particular order) or, when
    `inverted` (most texts match), `tids` lists every committed text that does *not* match; `ranked` holds the best
    matches with their scores, best first (all of them when `complete`). Fresh texts (matched in Python): `fresh`
    (tid -> score) and `fresh_missed` (those that do not match). `top(k)` gives the best k of all."""

    visible: int  # the text index's `visible` when matched
    searcher_schema: tantivy.Schema
    searcher: tantivy.Searcher | None
    query: Query | None
    tids: list[int]
    inverted: bool
    ranked: list[tuple[int, float]]
    complete: bool
    fresh: dict[int, float]
    fresh_missed: list[int]

    def top(self, k: int) -> tuple[list[tuple[int, float]], bool]:
        """The best k (tid, score), best first, and whether that is every match."""
        if not self.complete and k > len(self.ranked) and self.searcher is not None and self.query is not None:
            self.ranked = _scored(self.searcher, self.query, k)
            self.complete = len(self.ranked) < k
        ranked = self.ranked[:k]
        complete = self.complete and k >= len(self.ranked)
        if self.fresh:
            ranked = sorted(ranked + list(self.fresh.items()), key=lambda ts: -ts[1])[:k]
            complete = complete and k >= len(self.ranked) + len(self.fresh)
        return ranked, complete


    def scores_of(self, tids: set[int]) -> dict[int, float]:
        """The scores of a few matching texts (for a page in name or time order)."""
        scores = {tid: score for tid, score in self.fresh.items() if tid in tids}
        committed = [tid for tid in tids if tid not in scores]
        if committed and self.searcher is not None and self.query is not None:
            only = Query.const_score_query(Query.term_set_query(self.searcher_schema, "tid", committed), 0.0)
            scores.update(_scored(self.searcher, Query.boolean_query([(Occur.Must, self.query), (Occur.Must, only)]), len(committed)))
        return scores


def _scored(searcher: tantivy.Searcher, query: Query, limit: int) -> list[tuple[int, float]]:
    hits = searcher.search(query, limit=limit, count=False).hits
    if not hits:
        return []
    scores, addresses = zip(*hits)
    return list(zip(searcher.fast_field_values("tid", list(addresses)), scores))


class TextIndex:
    """Tantivy over distinct texts, written by a background committer (see the module docstring)."""

    def __init__(self, directory: Path | None, *, heap_size: int = 32_000_000) -> None:
        self.schema = _schema()
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)
            marker = directory / "plugyard-schema"
            if any(directory.iterdir()) and (not marker.exists() or marker.read_text() != SCHEMA_VERSION):
                if not (directory / "meta.json").exists():
                    raise ValueError(f"{directory} is not empty and holds no search index")
                shutil.rmtree(directory)  # an older layout: derived data, rebuilt from the catalogue by the caller
                directory.mkdir(parents=True)
            self.index = tantivy.Index(self.schema, path=str(directory), reuse=True)
            marker.write_text(SCHEMA_VERSION)
        else:
            self.index = tantivy.Index(self.schema)
        self.index.register_tokenizer(WORDS, WORDS_ANALYZER)
        self.index.register_tokenizer(STEM, STEM_ANALYZER)
        self.index.config_reader(reload_policy="manual")
        self._writer = self.index.writer(heap_size=heap_size, num_threads=1)
        self._cond = threading.Condition()
        self._queue: list[tuple[int, str, int, _Text | None]] = []  # (seq, tkey, tid, text or None for a delete)
        self._seq = 0  # of the last queued write
        self._visible = 0  # every write up to this seq is in self._searcher
        self._pending: dict[int, tuple[int, _Text]] = {}  # tid -> (seq, text) added but not yet visible
        self._fresh: dict[int, _FreshText] = {}  # analysed pending texts
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._closed = False
        self.index.reload()
        self._searcher = self.index.searcher()

    # -- writes (never wait for Tantivy) -------------------------------------------------------------------------
    def add(self, tid: int, tkey: str, name: str, summary: str, description: str, keywords: Sequence[str]) -> None:
        text = _Text(name, summary, description, tuple(keywords))
        with self._cond:
            self._seq += 1
            self._queue.append((self._seq, tkey, tid, text))
            self._pending[tid] = (self._seq, text)
            self._wake()

    def delete(self, tkey: str, tid: int) -> None:
        with self._cond:
            self._seq += 1
            self._queue.append((self._seq, tkey, tid, None))
            self._pending.pop(tid, None)
            self._fresh.pop(tid, None)
            self._wake()

    def _wake(self) -> None:
        if self._closed:
            raise RuntimeError("the search index is closed")
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._commit_loop, name="plugyard-search-commit", daemon=True)
            self._thread.start()
        self._cond.notify_all()

    def _commit_loop(self) -> None:
        while True:
            with self._cond:
                if not self._queue and not self._cond.wait_for(lambda: self._queue or self._closed, timeout=IDLE_EXIT_S):
                    self._thread = None
                    return
                batch, self._queue = self._queue, []
                if not batch:  # closed and drained
                    return
            try:
                for _, tkey, tid, text in batch:
                    if text is None:
                        self._writer.delete_documents_by_term("tkey", tkey)
                    else:
                        self._writer.add_document(self._document(tid, tkey, text))
                self._writer.commit()
                self.index.reload()
                searcher = self.index.searcher()
            except Exception as exc:  # surfaced by searches until a commit works again; the writes wait in the queue
                with contextlib.suppress(Exception):
                    self._writer.rollback()
                with self._cond:
                    self._queue[:0] = batch
                    self._error = exc
                    self._cond.notify_all()
                    self._thread = None
                return
            with self._cond:
                self._error = None
                self._searcher = searcher
                self._visible = batch[-1][0]
                for tid in [tid for tid, (seq, _) in self._pending.items() if seq <= self._visible]:
                    del self._pending[tid]
                    self._fresh.pop(tid, None)
                self._cond.notify_all()

    @staticmethod
    def _document(tid: int, tkey: str, text: _Text) -> tantivy.Document:
        doc = tantivy.Document()
        doc.add_text("tkey", tkey)
        doc.add_unsigned("tid", tid)
        doc.add_text("name_exact", text.name)
        doc.add_text("name", text.name)
        for keyword in text.keywords:
            doc.add_text("keywords", keyword)
        doc.add_text("summary", text.summary)
        doc.add_text("description", text.description)
        doc.add_text("all", " ".join((text.name, *text.keywords, text.summary, text.description)))
        return doc

    @property
    def visible(self) -> int:
        """Every write up to this sequence number is searchable through Tantivy."""
        return self._visible

    @property
    def backlog(self) -> int:
        """Texts added but not yet searchable through Tantivy."""
        return len(self._pending)

    def flush(self) -> None:
        """Wait until every write so far is committed and searchable."""
        with self._cond:
            self._cond.wait_for(lambda: self._visible >= self._seq or self._error is not None)
            if self._error is not None:
                raise RuntimeError(f"the search text index failed to commit: {self._error}") from self._error

    def close(self) -> None:
        with self._cond:
            if self._closed:
                return
            self._flush_locked()
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join()
        self._writer.wait_merging_threads()

    def _flush_locked(self) -> None:
        self._cond.wait_for(lambda: self._visible >= self._seq or self._error is not None)

    # -- reads --------------------------------------------------------------------------------------------------
    def stored(self) -> dict[str, int]:
        """tkey -> tid of every text in the index (to pick up an index left on disk)."""
        self.flush()
        searcher = self._searcher
        n = searcher.num_docs
        if n == 0:
            return {}
        result: dict[str, int] = {}
        for _, address in searcher.search(Query.all_query(), limit=n, count=False).hits:
            doc = searcher.doc(address)
            result[doc.get_first("tkey")] = doc.get_first("tid")
        return result

    def match(self, words: list[str], name_exact: str | None, live: Container[int]) -> TextMatch:
        """The texts matching every word; when no live text does and there are several words, those matching any.
        `live` holds the tids still in use (the searcher may still hold texts deleted since its commit)."""
        with self._cond:
            if self._error is not None:
                raise RuntimeError(f"the search text index failed to commit: {self._error}") from self._error
            if len(self._pending) > FRESH_MAX:
                self._flush_locked()
            searcher, visible = self._searcher, self._visible
            pending = dict(self._pending)
            for tid, (_, text) in pending.items():
                if tid not in self._fresh:
                    self._fresh[tid] = _FreshText(text)
            fresh = {tid: self._fresh[tid] for tid in pending}
        for every in (True, False):
            if not every and len(words) < 2:
                break
            occur = Occur.Must if every else Occur.Should
            bonus = [] if not name_exact else [
                (Occur.Should, Query.const_score_query(Query.term_query(self.schema, "name_exact", name_exact), NAME_EXACT_BONUS))
            ]
            query = Query.boolean_query([(occur, self._word_query(w)) for w in words] + bonus)
            ranked: list[tuple[int, float]] = []
            tids: list[int] = []
            complete, inverted = True, False
            n = searcher.num_docs
            if n:
                result = searcher.search(query, limit=FIRST_SCORED, count=True)
                if result.hits:
                    scores, addresses = zip(*result.hits)
                    ranked = list(zip(searcher.fast_field_values("tid", list(addresses)), scores))
                tied = bool(ranked) and ranked[0][1] == ranked[-1][1]
                floor = every and all(typo_distance(w) for w in words) and ranked and ranked[0][1] == len(words) * FUZZY_SCORE
                if result.count > FIRST_SCORED and floor:  # only typo matches: all score the same, no need to score
                    hits = searcher.search(query, limit=n, count=False, order_by_field="tid").hits
                    ranked = [(tid, ranked[0][1]) for tid, _ in hits]
                elif result.count > FIRST_SCORED and tied:
                    ranked = _scored(searcher, query, result.count)  # all of them: cheaper than walking ties later
                complete = len(ranked) >= result.count
                if complete:
                    tids = [tid for tid, _ in ranked if tid in live]
                else:  # a broad query: the set from an unscored query, by id; the best few scored
                    matching = Query.boolean_query([(occur, self._word_filter(w)) for w in words])
                    if 2 * result.count > n:  # most texts match: list the others
                        inverted = True
                        matching = Query.boolean_query([(Occur.Must, Query.all_query()), (Occur.MustNot, matching)])
                    tids = [tid for tid, _ in searcher.search(matching, limit=n, count=False, order_by_field="tid").hits]
                    if not inverted:
                        tids = list(filter(live.__contains__, tids))
            fresh_scores = {tid: text.score(words, name_exact, every=every) for tid, text in fresh.items()}
            found = len(tids) + sum(1 for score in fresh_scores.values() if score)
            if inverted or found >= (AND_MIN if every and len(words) > 1 else 1):
                return TextMatch(
                    visible, self.schema, searcher, query, tids, inverted, ranked, complete,
                    {tid: s for tid, s in fresh_scores.items() if s}, [tid for tid, s in fresh_scores.items() if not s],
                )
        return TextMatch(visible, self.schema, None, None, [], False, [], True, {}, list(fresh))

    def _word_filter(self, word: str) -> Query:
        """What `_word_query` matches, without the scoring: the word, its stem or (long enough) a typo of it."""
        stems = STEM_ANALYZER.analyze(word)
        stem = stems[0] if stems else word
        parts = [(Occur.Should, Query.term_query(self.schema, "all", word))]
        parts += [(Occur.Should, Query.term_query(self.schema, field, stem)) for field, _ in STEM_FIELDS]
        distance = typo_distance(word)
        if distance:
            parts.append((Occur.Should, Query.fuzzy_term_query(self.schema, "all", word, distance=distance, transposition_cost_one=True)))
        return Query.boolean_query(parts)

    def _word_query(self, word: str) -> Query:
        schema = self.schema
        stems = STEM_ANALYZER.analyze(word)
        stem = stems[0] if stems else word
        exact = [Query.term_query(schema, "all", word)] + [Query.term_query(schema, field, stem) for field, _ in STEM_FIELDS]
        parts: list[tuple[Occur, Query]] = [
            (Occur.Should, Query.const_score_query(Query.boolean_query([(Occur.Should, q) for q in exact]), EXACT_TIER))
        ]
        parts += [(Occur.Should, Query.boost_query(Query.term_query(schema, f, word), boost)) for f, boost in WORD_FIELDS]
        parts += [(Occur.Should, Query.boost_query(Query.term_query(schema, f, stem), boost)) for f, boost in STEM_FIELDS]
        distance = typo_distance(word)
        if distance:
            for field, score in (("all", FUZZY_SCORE), ("name", FUZZY_NAME_SCORE)):
                fuzzy = Query.fuzzy_term_query(schema, field, word, distance=distance, transposition_cost_one=True)
                parts.append((Occur.Should, Query.const_score_query(fuzzy, score)))
        return Query.boolean_query(parts)
