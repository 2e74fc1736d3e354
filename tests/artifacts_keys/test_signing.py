"""Signed statements: exact texts, round trips, tampering, foreign signers, malformed signatures, age."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest
from eth_account import Account
from eth_keys import keys as eth_keys
from eth_keys.constants import SECPK1_N
from eth_utils import keccak
from pydantic import ValidationError

from plugyard_artifacts.signing import (
    DEFAULT_MAX_AGE,
    DeprecateStatement,
    OwnerAddStatement,
    OwnerRemoveStatement,
    ReleaseStatement,
    SignatureRefused,
    Statement,
    YankStatement,
    recover_signer,
    sign,
    verify,
)

# The key from eth-account's own documentation, so the vector below can be checked by other tools.
DOC_KEY = "0xb25c7db31feed9122727bf0939dc769a96564b2de4c4726d035b36ecf1e5b364"
DOC_ADDRESS = "0x5ce9454909639D2D17A3F753ce7d93fa0b9aB12E"
CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
OTHER_CID = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
MANIFEST_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
PINNED_RELEASE_SIGNATURE = (
    "0x4d7976aa280d234312178d1e0425cdf413bc5bff316facea32ba8eb81cc1118f"
    "6eded127b14843a56f326acbed6c61ce14e05ba81fdf262f3f1918bd5e7af2fb1c"
)
NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)

publisher = Account.from_key(DOC_KEY)
stranger = Account.from_key(keccak(b"stranger"))
co_owner = Account.from_key(keccak(b"co-owner"))


def release() -> ReleaseStatement:
    return ReleaseStatement(name="hello-world", version="1.2.0", cid=CID, manifest_sha256=MANIFEST_SHA256)


def yank() -> YankStatement:
    return YankStatement(name="hello-world", version="1.2.0", reason="leaks the API token", issued_at=NOW)


def deprecate() -> DeprecateStatement:
    return DeprecateStatement(name="hello-world", successor="hello-universe", reason="renamed", issued_at=NOW)


def owner_add() -> OwnerAddStatement:
    return OwnerAddStatement(name="hello-world", address=co_owner.address, issued_at=NOW)


def owner_remove() -> OwnerRemoveStatement:
    return OwnerRemoveStatement(name="hello-world", address=co_owner.address, issued_at=NOW)


STATEMENTS: list[Callable[[], Statement]] = [release, yank, deprecate, owner_add, owner_remove]
# A different, valid value for every field of every statement.
TAMPERED = {
    "name": "hello-world2",
    "version": "1.2.1",
    "cid": OTHER_CID,
    "manifest_sha256": "0" * 64,
    "reason": "something else",
    "successor": None,
    "address": stranger.address,
    "issued_at": NOW + timedelta(seconds=1),
}


def test_release_text_is_the_design_format_byte_for_byte() -> None:
    expected = f"plugyard-release:v1\nhello-world\n1.2.0\n{CID}\n{MANIFEST_SHA256}".encode()
    assert release().message_text().encode("utf-8") == expected


def test_signature_is_an_eip191_personal_message_signature() -> None:
    body = release().message_text().encode()
    digest = keccak(b"\x19Ethereum Signed Message:\n" + str(len(body)).encode() + body)
    raw = bytes.fromhex(sign(release(), publisher)[2:])
    signature = eth_keys.Signature(vrs=(raw[64] - 27, int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:64], "big")))
    assert signature.recover_public_key_from_msg_hash(digest).to_checksum_address() == DOC_ADDRESS


def test_pinned_release_vector() -> None:
    assert sign(release(), publisher) == PINNED_RELEASE_SIGNATURE  # RFC 6979: deterministic
    assert recover_signer(release(), PINNED_RELEASE_SIGNATURE) == DOC_ADDRESS


def test_action_texts() -> None:
    assert yank().message_text() == "plugyard-yank:v1\nhello-world\n1.2.0\nleaks the API token\n2026-11-25T12:00:00Z"
    assert deprecate().message_text() == "plugyard-deprecate:v1\nhello-world\nhello-universe\nrenamed\n2026-11-25T12:00:00Z"
    no_successor = DeprecateStatement(name="hello-world", successor=None, reason="", issued_at=NOW)
    assert no_successor.message_text() == "plugyard-deprecate:v1\nhello-world\n\n\n2026-11-25T12:00:00Z"
    assert owner_add().message_text() == f"plugyard-owner-add:v1\nhello-world\n{co_owner.address}\n2026-11-25T12:00:00Z"
    assert owner_remove().message_text() == f"plugyard-owner-remove:v1\nhello-world\n{co_owner.address}\n2026-11-25T12:00:00Z"


def test_fields_are_put_in_canonical_form() -> None:
    statement = OwnerAddStatement(
        name="Hello_World.Plugin",
        address=co_owner.address.lower(),
        issued_at=datetime(2026, 11, 25, 14, 0, 0, 999_999, tzinfo=timezone(timedelta(hours=2))),
    )
    assert statement.message_text() == f"plugyard-owner-add:v1\nhello-world-plugin\n{co_owner.address}\n2026-11-25T12:00:00Z"
    shouted = ReleaseStatement(name="hello-world", version="1.2.0", cid=CID, manifest_sha256=MANIFEST_SHA256.upper())
    assert shouted.message_text() == release().message_text()


@pytest.mark.parametrize(
    ("make", "field", "value"),
    [
        (yank, "reason", "line one\nplugyard-yank:v1"),
        (yank, "reason", "carriage\rreturn"),
        (yank, "reason", "x" * 501),
        (yank, "version", "1.0\n2.0"),
        (yank, "version", ""),
        (yank, "name", "-"),
        (yank, "name", "hello\nworld"),
        (yank, "issued_at", datetime(2026, 11, 25, 12, 0, 0)),  # naive: whose noon?
        (release, "manifest_sha256", "abc"),
        (release, "cid", "bafy with spaces"),
        (owner_add, "address", "0x1234"),
        (deprecate, "successor", "not a name!"),
    ],
)
def test_statement_fields_are_validated(make: Callable[[], Statement], field: str, value: object) -> None:
    with pytest.raises(ValidationError):
        type(make()).model_validate({**make().model_dump(), field: value})


@pytest.mark.parametrize("make", STATEMENTS)
def test_round_trip(make: Callable[[], Statement]) -> None:
    statement = make()
    signature = sign(statement, publisher)
    assert recover_signer(statement, signature) == publisher.address
    assert verify(statement, signature, {publisher.address}, now=NOW) == publisher.address
    over_the_wire = type(statement).model_validate_json(statement.model_dump_json())
    assert verify(over_the_wire, signature, {publisher.address}, now=NOW) == publisher.address


@pytest.mark.parametrize(
    ("make", "field"),
    [(make, field) for make in STATEMENTS for field in type(make()).model_fields],
)
def test_tampering_with_any_field_changes_the_signer(make: Callable[[], Statement], field: str) -> None:
    statement = make()
    signature = sign(statement, publisher)
    tampered = type(statement).model_validate({**statement.model_dump(), field: TAMPERED[field]})
    assert tampered.message_text() != statement.message_text()
    assert recover_signer(tampered, signature) != publisher.address
    with pytest.raises(SignatureRefused, match="which is not an owner of"):
        verify(tampered, signature, {publisher.address}, now=NOW)


def test_foreign_signer_is_refused_with_the_owner_list() -> None:
    signature = sign(release(), stranger)
    owners = {publisher.address, co_owner.address.lower()}
    with pytest.raises(SignatureRefused) as caught:
        verify(release(), signature, owners)
    listed = ", ".join(sorted([publisher.address, co_owner.address]))
    assert str(caught.value) == f"signed by {stranger.address}, which is not an owner of hello-world (owners: {listed})"


def test_any_owner_may_sign() -> None:
    owners = {publisher.address, co_owner.address}
    assert verify(release(), sign(release(), co_owner), owners) == co_owner.address


def test_first_publish_claims_for_whoever_signed() -> None:
    assert verify(release(), sign(release(), stranger), None) == stranger.address


def test_a_name_without_owners_cannot_be_signed_for() -> None:
    with pytest.raises(SignatureRefused, match="has no owners"):
        verify(release(), sign(release(), publisher), set())


@pytest.mark.parametrize(
    ("received", "reason"),
    [
        ({"cid": OTHER_CID}, f"statement is for another CID \\(tampered archive\\?\\): signed {CID}, received {OTHER_CID}"),
        ({"manifest_sha256": "0" * 64}, "statement is for another plugin.toml \\(tampered manifest\\?\\)"),
        ({"version": "1.2.1"}, "statement is for version 1.2.0, not 1.2.1"),
        ({"name": "other-plugin"}, "statement is for plugin hello-world, not other-plugin"),
    ],
)
def test_statement_must_match_what_was_received(received: dict[str, str], reason: str) -> None:
    signature = sign(release(), publisher)
    expected = ReleaseStatement.model_validate({**release().model_dump(), **received})
    with pytest.raises(SignatureRefused, match=f"^{reason}"):
        verify(release(), signature, {publisher.address}, expected_statement=expected)
    assert verify(release(), signature, {publisher.address}, expected_statement=release()) == publisher.address


def test_statement_of_another_kind_is_refused() -> None:
    with pytest.raises(SignatureRefused, match="is a plugyard-owner-add:v1, expected a plugyard-owner-remove:v1"):
        verify(owner_add(), sign(owner_add(), publisher), {publisher.address}, expected_statement=owner_remove(), now=NOW)


def test_action_fields_must_match_too() -> None:
    received = YankStatement.model_validate({**yank().model_dump(), "reason": "other"})
    with pytest.raises(SignatureRefused, match="statement's reason is 'leaks the API token', expected 'other'"):
        verify(yank(), sign(yank(), publisher), {publisher.address}, expected_statement=received, now=NOW)


def _signature(r: int, s: int, v: int) -> str:
    return "0x" + r.to_bytes(32, "big").hex() + s.to_bytes(32, "big").hex() + bytes([v]).hex()


GOOD = PINNED_RELEASE_SIGNATURE
GOOD_R, GOOD_S, GOOD_V = int(GOOD[2:66], 16), int(GOOD[66:130], 16), int(GOOD[130:], 16)


@pytest.mark.parametrize("signature", [None, "", "   "])
def test_missing_signature(signature: str | None) -> None:
    with pytest.raises(SignatureRefused, match="^no signature$"):
        verify(release(), signature, {publisher.address})


@pytest.mark.parametrize(
    ("signature", "reason"),
    [
        ("0x", "expected 65 bytes"),
        (GOOD[:-2], "expected 65 bytes"),
        (GOOD + "00", "expected 65 bytes"),
        ("0x" + "zz" * 65, "not hex"),
        (GOOD[:10] + " " + GOOD[11:], "not hex"),
        (bytes.fromhex(GOOD[2:]), "expected a hex string"),
        (_signature(GOOD_R, GOOD_S, 29), "recovery byte v is 29"),
        (_signature(0, GOOD_S, GOOD_V), "out of range"),
        (_signature(SECPK1_N, GOOD_S, GOOD_V), "out of range"),
        (_signature(GOOD_R, SECPK1_N - GOOD_S, 55 - GOOD_V), "lower half"),  # the malleable twin
        ("0x" + "ff" * 65, "recovery byte v is 255"),
    ],
)
def test_malformed_signature_is_refused_not_crashed(signature: object, reason: str) -> None:
    with pytest.raises(SignatureRefused, match=f"^signature is malformed: .*{reason}"):
        verify(release(), signature, {publisher.address})  # type: ignore[arg-type]


def test_random_bytes_never_escape_as_internal_errors() -> None:
    for _ in range(200):
        blob = os.urandom(64) + bytes([27])
        try:
            recover_signer(release(), "0x" + blob.hex())
        except SignatureRefused:
            pass


def test_v_as_zero_or_one_is_accepted() -> None:
    assert recover_signer(release(), _signature(GOOD_R, GOOD_S, GOOD_V - 27)) == DOC_ADDRESS
    assert recover_signer(release(), GOOD[2:]) == DOC_ADDRESS
    assert recover_signer(release(), GOOD.upper().replace("0X", "0x")) == DOC_ADDRESS


def test_stale_statement_is_refused() -> None:
    signature = sign(yank(), publisher)
    with pytest.raises(SignatureRefused, match=r"^issued_at is 2 h old \(older than 10 min\)$"):
        verify(yank(), signature, {publisher.address}, now=NOW + timedelta(hours=2))
    assert verify(yank(), signature, {publisher.address}, now=NOW + DEFAULT_MAX_AGE) == publisher.address


def test_max_age_is_configurable() -> None:
    signature = sign(owner_add(), publisher)
    with pytest.raises(SignatureRefused, match=r"^issued_at is 5 min old \(older than 60 s\)$"):
        verify(owner_add(), signature, {publisher.address}, now=NOW + timedelta(minutes=5), max_age=timedelta(minutes=1))
    later = NOW + timedelta(hours=23)
    assert verify(owner_add(), signature, {publisher.address}, now=later, max_age=timedelta(days=1)) == publisher.address


def test_statement_from_the_future_is_refused() -> None:
    signature = sign(deprecate(), publisher)
    with pytest.raises(SignatureRefused, match="issued_at is 5 min in the future .*check the signer's clock"):
        verify(deprecate(), signature, {publisher.address}, now=NOW - timedelta(minutes=5))
    assert verify(deprecate(), signature, {publisher.address}, now=NOW - timedelta(minutes=1)) == publisher.address


def test_freshness_uses_the_real_clock_by_default() -> None:
    fresh = YankStatement(name="hello-world", version="1.2.0", reason="", issued_at=datetime.now(UTC))
    assert verify(fresh, sign(fresh, publisher), {publisher.address}) == publisher.address
    stale = fresh.model_copy(update={"issued_at": fresh.issued_at - timedelta(hours=2)})
    with pytest.raises(SignatureRefused, match="2 h old"):
        verify(stale, sign(stale, publisher), {publisher.address})


def test_release_has_no_age() -> None:
    far_future = datetime(2100, 1, 1, tzinfo=UTC)
    assert verify(release(), sign(release(), publisher), {publisher.address}, now=far_future) == publisher.address
