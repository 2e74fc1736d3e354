"""Reviews as signed statements: verification, verified use, and the book (one per account and version, no replays)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct

from plugyard_marketplace.reviews import (
    FUTURE_TOLERANCE,
    AcceptedReview,
    ReviewBook,
    ReviewRefused,
    require_verified_use,
    verified_by,
    verify_review,
)
from plugyard_schemas.marketplace import ReviewRequest, review_message

CHAIN_ID = 31337
SHOP = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
MAX_AGE = timedelta(minutes=10)
REVIEWER = Account.create()
OTHER = Account.create()
PUBLISHER = Account.create()


def stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def signed(
    key=REVIEWER, *, name="weather", version="1.0.0", stars=4, text="Works well.\nFast.", issued_at: str | None = None,
    account: str | None = None, chain_id=CHAIN_ID, shop=SHOP,
) -> ReviewRequest:
    issued_at = issued_at or stamp(NOW - timedelta(seconds=30))
    account = account or key.address
    message = review_message(name, version, stars, text, account, issued_at, chain_id, shop)
    signature = key.sign_message(encode_defunct(text=message)).signature.hex()
    signature = signature if signature.startswith("0x") else "0x" + signature
    return ReviewRequest(name=name, version=version, stars=stars, text=text, account=account, issued_at=issued_at, signature=signature)


def verify(request: ReviewRequest, **overrides) -> str:
    options = {"chain_id": CHAIN_ID, "shop": SHOP, "now": NOW, "max_age": MAX_AGE} | overrides
    return verify_review(request, **options)


def refused(request: ReviewRequest, **overrides) -> str:
    with pytest.raises(ReviewRefused) as caught:
        verify(request, **overrides)
    assert "\n" not in caught.value.reason
    return caught.value.reason


# --- verify_review ------------------------------------------------------------------------------------------------


def test_a_good_review_recovers_its_account_in_lower_case() -> None:
    assert verify(signed()) == REVIEWER.address.lower()


def test_account_spelled_in_mixed_case_or_lower_case_verifies_alike() -> None:
    assert verify(signed(account=REVIEWER.address.lower())) == REVIEWER.address.lower()


def test_forged_signature_is_refused() -> None:
    request = signed(OTHER, account=REVIEWER.address)  # OTHER signs a review in REVIEWER's name
    reason = refused(request)
    assert "forged" in reason and OTHER.address.lower() in reason


def test_tampered_text_or_stars_is_refused() -> None:
    request = signed()
    assert "forged" in refused(request.model_copy(update={"stars": 5}))
    assert "forged" in refused(request.model_copy(update={"text": "Terrible."}))


def test_signature_for_another_account_field_is_refused() -> None:
    request = signed().model_copy(update={"account": OTHER.address})
    assert f"not {OTHER.address.lower()}'s" in refused(request)


def test_signature_made_for_another_chain_is_refused() -> None:
    assert "forged" in refused(signed(chain_id=1))


def test_signature_made_for_another_shop_is_refused() -> None:
    assert "forged" in refused(signed(shop="0x" + "ab" * 20))


def test_stale_review_is_refused() -> None:
    reason = refused(signed(issued_at=stamp(NOW - MAX_AGE - timedelta(seconds=1))))
    assert "stale" in reason and "10 min" in reason


def test_review_from_the_future_is_refused_beyond_the_tolerance() -> None:
    assert verify(signed(issued_at=stamp(NOW + FUTURE_TOLERANCE - timedelta(seconds=1))))
    assert "future" in refused(signed(issued_at=stamp(NOW + FUTURE_TOLERANCE + timedelta(seconds=5))))


@pytest.mark.parametrize(
    ("issued_at", "expected"),
    [("2026-11-25T11:59:00", "no time zone"), ("yesterday", "not an ISO 8601"), ("2026-11-25", "no time zone")],
)
def test_issued_at_must_be_iso_8601_with_a_time_zone(issued_at: str, expected: str) -> None:
    assert expected in refused(signed(issued_at=issued_at))


def test_issued_at_with_an_offset_is_taken() -> None:
    assert verify(signed(issued_at="2026-11-25T13:59:30+02:00"))


@pytest.mark.parametrize("char", ["\x00", "\r", "\x1b", "\x7f", "\u202e", "\u2028"])
def test_text_with_control_characters_is_refused(char: str) -> None:
    reason = refused(signed(text=f"fine{char}text"))
    assert f"U+{ord(char):04X}" in reason and "position 4" in reason


def test_newline_and_tab_are_allowed_in_text() -> None:
    assert verify(signed(text="line one\n\tindented"))


def test_name_and_version_must_be_normalized() -> None:
    assert "normalized" in refused(signed(name="Weather_Plugin"))
    assert "normalized" in refused(signed(version="1.0.0-RC1"))
    assert "PEP 440" in refused(signed(version="1.0\nstars: 5"))


def test_high_s_twin_of_a_signature_is_refused() -> None:
    request = signed()
    raw = bytes.fromhex(request.signature[2:])
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    s = int.from_bytes(raw[32:64], "big")
    twin = raw[:32] + (n - s).to_bytes(32, "big") + bytes([55 - raw[64]])  # 27 <-> 28
    assert "EIP-2" in refused(request.model_copy(update={"signature": "0x" + twin.hex()}))


# --- verified use -------------------------------------------------------------------------------------------------


def test_purchase_then_install_then_nothing() -> None:
    me = REVIEWER.address
    assert verified_by(me, "weather", purchasers={me.lower()}, installers={me}, publisher=None) == "purchase"
    assert verified_by(me.lower(), "weather", purchasers=set(), installers={me}, publisher=PUBLISHER.address) == "install"
    assert verified_by(me, "weather", purchasers=set(), installers=set(), publisher=PUBLISHER.address) is None


def test_no_purchase_and_no_install_is_refused_with_the_rule() -> None:
    with pytest.raises(ReviewRefused, match="neither bought nor installed weather"):
        require_verified_use(REVIEWER.address, "weather", purchasers={OTHER.address}, installers=set(), publisher=PUBLISHER.address)


def test_publisher_may_not_review_its_own_plugin_even_when_it_bought_it() -> None:
    me = PUBLISHER.address
    assert verified_by(me, "weather", purchasers={me}, installers={me}, publisher=me.lower()) is None
    with pytest.raises(ReviewRefused, match="may not review its own plugin"):
        require_verified_use(me, "weather", purchasers={me}, installers={me}, publisher=me)


# --- the book -----------------------------------------------------------------------------------------------------


def accept(book: ReviewBook, request: ReviewRequest, use: str = "purchase"):
    return book.submit(request, verify(request), use)


def test_first_review_is_accepted_and_listed() -> None:
    book = ReviewBook()
    reply = accept(book, signed())
    assert (reply.accepted, reply.replaced, reply.verified_by) == (True, False, "purchase")
    [review] = book.reviews("weather")
    assert (review.account, review.stars, review.version) == (REVIEWER.address.lower(), 4, "1.0.0")


def test_same_signed_review_sent_twice_is_a_replay() -> None:
    book, request = ReviewBook(), signed()
    accept(book, request)
    with pytest.raises(ReviewRefused, match="replay"):
        accept(book, request)


def test_later_review_replaces_and_the_replaced_signature_stays_used() -> None:
    book = ReviewBook()
    first = signed(stars=2, issued_at=stamp(NOW - timedelta(minutes=5)))
    second = signed(stars=5, issued_at=stamp(NOW - timedelta(minutes=1)))
    accept(book, first)
    reply = accept(book, second)
    assert reply.replaced
    assert [review.stars for review in book.reviews("weather")] == [5]
    with pytest.raises(ReviewRefused, match="replay"):
        accept(book, first)


def test_older_statement_than_the_one_held_is_refused() -> None:
    book = ReviewBook()
    accept(book, signed(stars=5, issued_at=stamp(NOW - timedelta(minutes=1))))
    for issued_at in (NOW - timedelta(minutes=3), NOW - timedelta(minutes=1)):  # older, and the same time
        with pytest.raises(ReviewRefused, match="is not later"):
            accept(book, signed(stars=1, issued_at=stamp(issued_at)))
    assert [review.stars for review in book.reviews("weather")] == [5]


def test_one_review_per_account_and_version_newest_first() -> None:
    book = ReviewBook()
    accept(book, signed(version="1.0.0", issued_at=stamp(NOW - timedelta(minutes=4))))
    accept(book, signed(OTHER, version="1.0.0", stars=3, issued_at=stamp(NOW - timedelta(minutes=2))), "install")
    accept(book, signed(version="2.0.0", stars=5, issued_at=stamp(NOW - timedelta(minutes=1))))
    accept(book, signed(name="other-plugin", issued_at=stamp(NOW)))
    reviews = book.reviews("weather")
    assert [(r.version, r.account, r.verified_by) for r in reviews] == [
        ("2.0.0", REVIEWER.address.lower(), "purchase"),
        ("1.0.0", OTHER.address.lower(), "install"),
        ("1.0.0", REVIEWER.address.lower(), "purchase"),
    ]
    assert [r.version for r in book.reviews("weather", "1.0.0")] == ["1.0.0", "1.0.0"]


def test_book_refuses_without_verified_use_or_with_a_mismatched_account() -> None:
    book, request = ReviewBook(), signed()
    with pytest.raises(ReviewRefused, match="no verified use"):
        book.submit(request, verify(request), None)
    with pytest.raises(ReviewRefused, match="no verified use"):
        book.submit(request, verify(request), "publisher")
    with pytest.raises(ReviewRefused, match="signed by"):
        book.submit(request, OTHER.address, "purchase")
    assert book.reviews("weather") == [] and book.signatures_used() == 0


def test_decide_leaves_the_book_unchanged_until_applied() -> None:
    book, request = ReviewBook(), signed()
    decided = book.decide(request, verify(request), "install")
    assert book.reviews("weather") == []
    book.apply(decided)
    assert len(book.reviews("weather")) == 1


def test_book_rebuilt_from_event_fields_refuses_the_same_replays() -> None:
    book, events = ReviewBook(), []
    for stars, minutes in ((2, 5), (4, 1)):
        request = signed(stars=stars, issued_at=stamp(NOW - timedelta(minutes=minutes)))
        decided = book.decide(request, verify(request), "purchase")
        events.append(decided.event_fields())  # what the service stores as ReviewAccepted
        book.apply(decided)
    assert events[1]["replaces"] == events[0]["signature"]

    rebuilt = ReviewBook()
    for fields in events:
        rebuilt.apply(AcceptedReview.from_event(fields))
    assert rebuilt.reviews("weather") == book.reviews("weather")
    with pytest.raises(ReviewRefused, match="replay"):
        accept(rebuilt, signed(stars=2, issued_at=stamp(NOW - timedelta(minutes=5))))
