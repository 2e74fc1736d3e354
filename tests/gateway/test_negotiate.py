"""What a request to /ipfs/<cid> asks for (plugyard_gateway.negotiate): format over Accept, the CAR parameters this
gateway writes (v1, dfs, dups=n), 400 and 406 where the trustless gateway spec puts them."""

from __future__ import annotations

import pytest

from plugyard_gateway.negotiate import CAR, CAR_CONTENT_TYPE, RAW, Refused, negotiate, parse_accept


@pytest.mark.parametrize(
    ("accept", "query", "expected"),
    [
        (RAW, {}, ("raw", "all", False)),
        (CAR, {}, ("car", "all", False)),
        (f"{CAR}; version=1; order=dfs; dups=n", {}, ("car", "all", False)),
        (f"{CAR};order=unk", {}, ("car", "all", False)),
        (f"{CAR};dups=y, {RAW};q=0.5", {}, ("raw", "all", False)),  # the best it can have
        (f"{RAW};q=0.2, {CAR};q=0.9", {}, ("car", "all", False)),
        (f"text/html, {RAW};q=0.1", {}, ("raw", "all", False)),
        (None, {"format": "raw"}, ("raw", "all", True)),
        ("text/html", {"format": "car"}, ("car", "all", True)),  # format wins over Accept
        (RAW, {"format": "car", "dag-scope": "block"}, ("car", "block", True)),
        (CAR, {"dag-scope": "entity"}, ("car", "entity", False)),
        (CAR, {"entity-bytes": "0:*"}, ("car", "entity", False)),
        (CAR, {"car-dups": "n", "car-order": "dfs", "car-version": "1"}, ("car", "all", False)),
    ],
)
def test_what_is_served(accept, query, expected):
    choice = negotiate(accept, query)
    assert (choice.format, choice.scope, choice.from_query) == expected


@pytest.mark.parametrize(
    ("accept", "query", "status", "words"),
    [
        (None, {}, 400, "Accept"),
        ("  ", {}, 400, "Accept"),
        ("*/*", {}, 406, "not acceptable"),
        ("text/html", {}, 406, "not acceptable"),
        (f"{RAW};q=0", {}, 406, "not acceptable"),
        (f"{CAR};version=2", {}, 406, "version 2"),
        (f"{CAR};dups=y", {}, 406, "dups=y"),
        (f"{CAR};order=foo", {}, 406, "order"),
        (CAR, {"car-dups": "y"}, 406, "dups=y"),
        (None, {"format": "tar"}, 406, "format=tar"),
        (None, {"format": "dag-json"}, 406, "format=dag-json"),
        (None, {"format": "nonsense"}, 400, "not a format"),
        (CAR, {"dag-scope": "everything"}, 400, "dag-scope"),
        (CAR, {"car-version": "7"}, 400, "car-version"),
        (CAR, {"entity-bytes": "10:20"}, 400, "entity-bytes"),
        (None, {"format": "car", "car-dups": "y"}, 406, "dups=y"),
    ],
)
def test_what_is_refused(accept, query, status, words):
    with pytest.raises(Refused) as refused:
        negotiate(accept, query)
    assert refused.value.status == status and words in refused.value.reason
    assert "\n" not in refused.value.reason


def test_accept_parsing_keeps_the_clients_order_among_equals_and_drops_q_zero():
    ranges = parse_accept(f"{CAR};q=0.5;order=dfs, {RAW}, text/html;q=0, application/json;q=bad")
    assert [(r.type, r.q) for r in ranges] == [(RAW, 1.0), (CAR, 0.5)]
    assert ranges[1].params == {"order": "dfs"}


def test_the_car_content_type_names_every_parameter():
    assert CAR_CONTENT_TYPE == "application/vnd.ipld.car; version=1; order=dfs; dups=n"
