"""The account proof at install (pure): a signature over a fresh, single-use challenge of this host, recovered to the
account it claims; and the refusal of a paid plugin, naming its price and the command to buy it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct

from plugyard_loader.paid import ChallengeBook, PaymentRequired, ProofRefused, eth_amount
from plugyard_schemas.loader import AccountProof, ChallengeReply, install_challenge_message

HOST = "host-a"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def signed(account, host: str, challenge: str) -> str:
    return "0x" + bytes(account.sign_message(encode_defunct(text=install_challenge_message(host, challenge))).signature).hex()


def proof(account, host: str, challenge: str, *, claimed: str | None = None) -> AccountProof:
    return AccountProof(account=claimed or account.address, challenge=challenge, signature=signed(account, host, challenge))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def book(clock: Clock) -> ChallengeBook:
    return ChallengeBook(HOST, clock=clock, wall_clock=lambda: datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))


def test_the_message_names_plugyard_the_host_and_the_challenge() -> None:
    text = install_challenge_message("host-a", "0x" + "ab" * 32)
    assert text.splitlines() == [
        "plugyard-install:v1", "Prove this account to a Plugyard loader for one install.", "host: host-a", "challenge: 0x" + "ab" * 32,
    ]
    with pytest.raises(ValueError, match="host"):
        install_challenge_message("a\nchallenge: 0x00", "0x" + "ab" * 32)


def test_a_challenge_is_random_fresh_and_says_when_it_expires(book: ChallengeBook) -> None:
    first, second = book.issue(), book.issue()
    assert isinstance(first, ChallengeReply) and first.challenge != second.challenge
    assert len(first.challenge) == 66 and first.expires_at == "2026-01-02T03:06:05Z"  # 120 s later


def test_a_good_proof_gives_the_account_once(book: ChallengeBook) -> None:
    account = Account.create()
    challenge = book.issue().challenge
    good = proof(account, HOST, challenge, claimed=account.address.lower())
    assert book.verify(good) == account.address  # checksummed, whatever case was claimed
    with pytest.raises(ProofRefused, match="already used"):
        book.verify(good)


def test_a_forged_signature_is_refused_and_does_not_burn_the_challenge(book: ChallengeBook) -> None:
    account = Account.create()
    challenge = book.issue().challenge
    garbage = AccountProof(account=account.address, challenge=challenge, signature="0x" + "11" * 64 + "1b")
    with pytest.raises(ProofRefused):
        book.verify(garbage)
    bad_v = AccountProof(account=account.address, challenge=challenge, signature=signed(account, HOST, challenge)[:-2] + "05")
    with pytest.raises(ProofRefused, match="malformed"):
        book.verify(bad_v)
    assert book.verify(proof(account, HOST, challenge)) == account.address  # the owner's proof still holds


def test_a_signature_by_another_account_is_refused(book: ChallengeBook) -> None:
    owner, thief = Account.create(), Account.create()
    challenge = book.issue().challenge
    with pytest.raises(ProofRefused, match=f"not {owner.address}'s"):
        book.verify(proof(thief, HOST, challenge, claimed=owner.address))


def test_an_expired_challenge_is_refused(book: ChallengeBook, clock: Clock) -> None:
    account = Account.create()
    challenge = book.issue().challenge
    clock.now += 119.9
    kept = book.issue().challenge
    clock.now += 0.2  # the first is 120.1 s old
    with pytest.raises(ProofRefused, match="expired"):
        book.verify(proof(account, HOST, challenge))
    assert book.verify(proof(account, HOST, kept)) == account.address


def test_a_challenge_of_another_host_is_refused(book: ChallengeBook) -> None:
    account = Account.create()
    other = ChallengeBook("host-b")
    elsewhere = other.issue().challenge
    with pytest.raises(ProofRefused, match="not issued by loader host-a"):
        book.verify(proof(account, "host-b", elsewhere))  # host-b's own challenge, rightly signed for host-b
    here = book.issue().challenge
    with pytest.raises(ProofRefused, match="not .*'s over this host's challenge"):
        book.verify(proof(account, "host-b", here))  # this host's challenge, signed as if for host-b
    assert other.verify(proof(account, "host-b", elsewhere)) == account.address


def test_a_flood_of_challenges_keeps_the_book_bounded(clock: Clock) -> None:
    book = ChallengeBook(HOST, capacity=100, clock=clock)
    first = book.issue().challenge
    for _ in range(1_000):
        book.issue()
    assert len(book) == 100
    with pytest.raises(ProofRefused):
        book.verify(proof(Account.create(), HOST, first))  # the oldest went first
    clock.now += 121
    book.issue()
    assert len(book) == 1  # expired ones are dropped as new ones come


def test_the_refusal_names_the_price_and_the_commands() -> None:
    assert eth_amount(10**16) == "0.01 ETH" and eth_amount(3 * 10**18) == "3 ETH" and eth_amount(1) == "0.000000000000000001 ETH"
    refused = PaymentRequired("bars-paid", "1.0.0", 10**16, None)
    assert refused.code == "refused"
    for part in ("bars-paid 1.0.0", "0.01 ETH", "10000000000000000 wei", "plugyard market buy bars-paid --key K",
                 "plugyard install bars-paid --key K", "no account was proven"):
        assert part in refused.message, part
    assert "account 0xabc has not bought it" in PaymentRequired("bars-paid", "1.0.0", 5, "0xabc").message
