"""ReleaseRegistry: claims by commit-reveal and by signature, releases written once by the publisher only,
and the attacks on both: front-running, replay on another chain or contract, reuse, malleated signatures."""

from __future__ import annotations

import os

import pytest
from eth_account import Account
from eth_utils import keccak

from .conftest import GAS, Chain, cid_of, new_chain, refused

DIGEST = keccak(b"plugin.toml")


# ---- claims by commit-reveal -------------------------------------------------------------------------


def test_commit_reveal_claims_a_name_and_logs_it(chain: Chain) -> None:
    alice = chain.accounts[1]
    receipt = chain.claim("hello-world", alice)
    assert chain.registry.functions.publisher_of("hello-world").call() == alice
    (event,) = chain.events(chain.registry, "NameClaimed", receipt)
    assert event["args"]["name_hash"] == keccak(text="hello-world")
    assert event["args"]["publisher"] == alice and event["args"]["name"] == "hello-world"
    assert chain.registry.functions.publishers(keccak(text="hello-world")).call() == alice


def test_a_claimed_name_cannot_be_claimed_again(chain: Chain) -> None:
    chain.claim("taken", chain.accounts[1])
    with refused("name already claimed"):
        chain.claim("taken", chain.accounts[2])
    assert chain.registry.functions.publisher_of("taken").call() == chain.accounts[1]


def test_reveal_needs_a_commitment_for_this_sender_and_salt(chain: Chain) -> None:
    alice, bob = chain.accounts[1:3]
    salt = os.urandom(32)
    with refused("no commitment"):
        chain.transact(chain.registry.functions.claim("no-commit", salt), alice)
    commitment = chain.registry.functions.commitment_for("no-commit", alice, salt).call()
    assert commitment == keccak(chain.w3.codec.encode(["string", "address", "bytes32"], ["no-commit", alice, salt]))
    chain.transact(chain.registry.functions.commit(commitment), alice)
    with refused("no commitment"):
        chain.transact(chain.registry.functions.claim("no-commit", os.urandom(32)), alice)  # wrong salt
    with refused("no commitment"):
        chain.transact(chain.registry.functions.claim("no-commit", salt), bob)  # wrong sender
    chain.transact(chain.registry.functions.claim("no-commit", salt), alice)
    assert chain.registry.functions.commitments(commitment).call() == 0  # spent


def test_names_must_be_pep503_normalized(chain: Chain) -> None:
    alice = chain.accounts[1]
    for bad in ["", "Hello", "hello_world", "hello.world", "-hello", "hello-", "hel--lo", "héllo", "a b"]:
        with refused("name must be PEP 503 normalized"):
            chain.claim(bad, alice)
    chain.claim("a", alice)
    chain.claim("0-9-z" + "x" * 95, alice)  # 100 characters: the longest
    with pytest.raises(Exception):  # 101 characters do not even fit the argument's type
        chain.registry.functions.commitment_for("x" * 101, alice, b"\0" * 32).call()


def test_front_run_reveal_copied_from_the_mempool_is_refused(chain: Chain) -> None:
    """Mallory sees Alice's reveal (name and salt in clear) and gets her transactions mined first, in the
    same block: she can neither use Alice's commitment (it binds Alice's address) nor make and reveal her
    own in time (a reveal must come in a block after its commitment)."""
    alice, mallory, mallory2, mallory3 = chain.accounts[1:5]
    salt = os.urandom(32)
    name = "precious"
    chain.transact(chain.registry.functions.commit(chain.registry.functions.commitment_for(name, alice, salt).call()), alice)

    # what Mallory reads in the mempool: Alice's signed, pending reveal
    seen = chain.registry.functions.claim(name, salt).build_transaction({"from": alice, "gas": GAS})
    function, args = chain.registry.decode_function_input(seen["data"])
    assert function.fn_name == "claim" and args["name"] == name
    with chain.one_block():  # one transaction per sender (eth-tester), mined in the order sent
        # 1. Alice's call, sent from her own account
        copy = chain.registry.functions.claim(args["name"], args["salt"]).transact({"from": mallory, "gas": GAS})
        # 2. a fresh commitment for her second account, and its reveal, in the same block
        own = chain.registry.functions.commitment_for(name, mallory2, args["salt"]).call()
        commit = chain.registry.functions.commit(own).transact({"from": mallory3, "gas": GAS})
        reveal = chain.registry.functions.claim(name, args["salt"]).transact({"from": mallory2, "gas": GAS})
        # then Alice's own reveal
        victim = chain.w3.eth.send_transaction(seen)
    receipts = [chain.w3.eth.get_transaction_receipt(h) for h in (copy, commit, reveal, victim)]
    assert len({r["blockNumber"] for r in receipts}) == 1
    assert [r["status"] for r in receipts] == [0, 1, 0, 1]
    assert chain.registry.functions.publisher_of(name).call() == alice
    # a block later Mallory's reveal would be valid, but the name is Alice's
    with refused("name already claimed"):
        chain.transact(chain.registry.functions.claim(name, args["salt"]), mallory2)


def test_a_commitment_is_not_moved_by_committing_it_again(chain: Chain) -> None:
    alice, mallory = chain.accounts[1:3]
    salt = os.urandom(32)
    commitment = chain.registry.functions.commitment_for("steady", alice, salt).call()
    chain.transact(chain.registry.functions.commit(commitment), alice)
    first = chain.registry.functions.commitments(commitment).call()
    chain.transact(chain.registry.functions.commit(commitment), mallory)  # a copy, later: no effect
    assert chain.registry.functions.commitments(commitment).call() == first
    with refused("empty commitment"):
        chain.transact(chain.registry.functions.commit(b"\0" * 32), mallory)


# ---- claims by signature (relayed) ----------------------------------------------------------------------


def test_signed_claim_relayed_by_anyone(chain: Chain) -> None:
    publisher_key = Account.create().key.hex()
    publisher = Account.from_key(publisher_key).address
    relayer = chain.accounts[5]
    who, deadline, signature = chain.sign_claim(publisher_key, "relayed")
    receipt = chain.transact(chain.registry.functions.claim_signed("relayed", who, deadline, signature), relayer)
    assert chain.registry.functions.publisher_of("relayed").call() == publisher
    assert chain.registry.functions.nonces(publisher).call() == 1
    (used,) = chain.events(chain.registry, "NonceUsed", receipt)
    assert used["args"]["publisher"] == publisher and used["args"]["nonce"] == 0


def test_domain_separator_is_eip712_for_this_chain_and_contract(chain: Chain) -> None:
    from eth_account.messages import encode_typed_data

    signable = encode_typed_data(
        full_message={
            "types": {
                "EIP712Domain": [
                    {"name": "name", "type": "string"},
                    {"name": "version", "type": "string"},
                    {"name": "chainId", "type": "uint256"},
                    {"name": "verifyingContract", "type": "address"},
                ],
                "Empty": [],
            },
            "primaryType": "Empty",
            "domain": chain.domain(),
            "message": {},
        }
    )
    assert chain.registry.functions.domain_separator().call() == signable.header


def test_signed_claim_replayed_is_refused(chain: Chain) -> None:
    key = chain.keys[1]
    who, deadline, signature = chain.sign_claim(key, "once")
    chain.transact(chain.registry.functions.claim_signed("once", who, deadline, signature), chain.accounts[5])
    # the same signature again, even for a name still free: its nonce is spent
    with refused("signature is not the publisher's"):
        chain.transact(chain.registry.functions.claim_signed("twice", who, deadline, signature), chain.accounts[5])
    with refused("signature is not the publisher's"):
        chain.transact(chain.registry.functions.claim_signed("once", who, deadline, signature), chain.accounts[5])


def test_signed_claim_for_another_contract_is_refused(chain: Chain) -> None:
    """A signature made for one registry contract does not work on another on the same chain."""
    from plugyard_marketplace import contracts

    other = chain.deploy(contracts.load("ReleaseRegistry"))
    key = chain.keys[1]
    who, deadline, signature = chain.sign_claim(key, "mine", contract=other.address)
    with refused("signature is not the publisher's"):
        chain.transact(chain.registry.functions.claim_signed("mine", who, deadline, signature), chain.accounts[5])
    chain.transact(other.functions.claim_signed("mine", who, deadline, signature), chain.accounts[5])  # its own
    assert other.functions.publisher_of("mine").call() == who


def test_signed_claim_replayed_on_another_chain_is_refused(chain: Chain) -> None:
    """Two chains, the registry at the same address on both (same deployer, same nonce), the signer's nonce
    the same on both: a claim signed for one and accepted there is refused on the other, both ways."""
    other = new_chain(chain_id=1337)
    assert other.registry.address == chain.registry.address
    assert other.chain_id() == 1337 != chain.chain_id()
    assert other.registry.functions.domain_separator().call() != chain.registry.functions.domain_separator().call()
    here_key, there_key = chain.keys[1], chain.keys[2]

    who, deadline, signature = chain.sign_claim(here_key, "cross-chain")
    with refused("signature is not the publisher's"):
        other.transact(other.registry.functions.claim_signed("cross-chain", who, deadline, signature), other.accounts[5])
    chain.transact(chain.registry.functions.claim_signed("cross-chain", who, deadline, signature), chain.accounts[5])

    who, deadline, signature = chain.sign_claim(there_key, "elsewhere", chain_id=1337)
    with refused("signature is not the publisher's"):
        chain.transact(chain.registry.functions.claim_signed("elsewhere", who, deadline, signature), chain.accounts[5])
    other.transact(other.registry.functions.claim_signed("elsewhere", who, deadline, signature), other.accounts[5])
    assert other.registry.functions.publisher_of("elsewhere").call() == who
    assert other.registry.functions.publisher_of("cross-chain").call() == "0x" + "0" * 40


def test_signed_claim_front_run_cannot_change_the_publisher(chain: Chain) -> None:
    """Mallory copies a relayed claim: sent as is it claims for the signer; with her address it fails."""
    key, mallory = chain.keys[1], chain.accounts[3]
    who, deadline, signature = chain.sign_claim(key, "relay-me")
    with refused("signature is not the publisher's"):
        chain.transact(chain.registry.functions.claim_signed("relay-me", mallory, deadline, signature), mallory)
    chain.transact(chain.registry.functions.claim_signed("relay-me", who, deadline, signature), mallory)
    assert chain.registry.functions.publisher_of("relay-me").call() == who


def test_signed_claim_bad_signatures_are_refused(chain: Chain) -> None:
    key = chain.keys[1]
    who, deadline, signature = chain.sign_claim(key, "strict")
    call = chain.registry.functions.claim_signed
    relayer = chain.accounts[5]
    with refused("signature is not the publisher's"):  # another name than signed
        chain.transact(call("strictly", who, deadline, signature), relayer)
    with refused("signature is not the publisher's"):  # another deadline than signed
        chain.transact(call("strict", who, deadline + 1, signature), relayer)
    with refused("signature must be 65 bytes"):
        chain.transact(call("strict", who, deadline, signature[:64]), relayer)
    with refused("signature v must be 27 or 28"):
        chain.transact(call("strict", who, deadline, signature[:64] + bytes([signature[64] - 27])), relayer)
    # the malleated twin (s -> n - s, v flipped) recovers the same signer, and is refused
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    r, s, v = signature[:32], int.from_bytes(signature[32:64], "big"), signature[64]
    twin = r + (n - s).to_bytes(32, "big") + bytes([55 - v])
    with refused("signature s out of range"):
        chain.transact(call("strict", who, deadline, twin), relayer)
    with refused("signature is not the publisher's"):  # garbage that recovers nobody or someone else
        chain.transact(call("strict", who, deadline, b"\x01" * 64 + b"\x1b"), relayer)
    chain.transact(call("strict", who, deadline, signature), relayer)


def test_signed_claim_after_its_deadline_is_refused(chain: Chain) -> None:
    key = chain.keys[1]
    who, deadline, signature = chain.sign_claim(key, "late", deadline=chain.now() + 60)
    chain.tester.time_travel(chain.now() + 120)
    with refused("signature expired"):
        chain.transact(chain.registry.functions.claim_signed("late", who, deadline, signature), chain.accounts[5])


# ---- releases ----------------------------------------------------------------------------------------


def test_publisher_records_a_release_once(chain: Chain) -> None:
    alice = chain.accounts[1]
    chain.claim("demo", alice)
    receipt = chain.transact(chain.registry.functions.record_release("demo", "1.0.0", cid_of(1), DIGEST), alice)
    assert chain.registry.functions.release("demo", "1.0.0").call() == [cid_of(1), DIGEST]
    assert chain.registry.functions.has_release("demo", "1.0.0").call()
    assert not chain.registry.functions.has_release("demo", "1.0.1").call()
    with refused("no such release"):
        chain.registry.functions.release("demo", "1.0.1").call()
    (event,) = chain.events(chain.registry, "ReleaseRecorded", receipt)
    args = event["args"]
    assert args["name_hash"] == keccak(text="demo") and args["version_hash"] == keccak(text="1.0.0")
    assert (args["publisher"], args["name"], args["version"], args["cid"], args["manifest_digest"]) == (
        alice, "demo", "1.0.0", cid_of(1), DIGEST
    )
    # the topic filter an indexer would use finds it
    logs = chain.registry.events.ReleaseRecorded().get_logs(
        from_block=0, argument_filters={"name_hash": keccak(text="demo")}
    )
    assert len(logs) == 1
    # rewriting an existing version, even with the same bytes, is refused
    with refused("version already recorded"):
        chain.transact(chain.registry.functions.record_release("demo", "1.0.0", cid_of(2), DIGEST), alice)
    with refused("version already recorded"):
        chain.transact(chain.registry.functions.record_release("demo", "1.0.0", cid_of(1), DIGEST), alice)
    chain.transact(chain.registry.functions.record_release("demo", "1.0.1", cid_of(2), DIGEST), alice)
    assert chain.registry.functions.release("demo", "1.0.0").call() == [cid_of(1), DIGEST]


def test_only_the_publisher_records_versions(chain: Chain) -> None:
    alice, mallory = chain.accounts[1:3]
    with refused("only the name's publisher"):  # not even for an unclaimed name
        chain.transact(chain.registry.functions.record_release("unclaimed", "1.0", cid_of(1), DIGEST), mallory)
    chain.claim("guarded", alice)
    with refused("only the name's publisher"):
        chain.transact(chain.registry.functions.record_release("guarded", "6.6.6", cid_of(6), DIGEST), mallory)
    # a release signed by someone else than the publisher, relayed, is refused too
    deadline, signature = chain.sign_release(chain.keys[2], "guarded", "6.6.6", cid_of(6), DIGEST)
    with refused("signature is not the publisher's"):
        chain.transact(
            chain.registry.functions.record_release_signed("guarded", "6.6.6", cid_of(6), DIGEST, deadline, signature),
            mallory,
        )
    assert not chain.registry.functions.has_release("guarded", "6.6.6").call()


def test_release_fields_are_checked(chain: Chain) -> None:
    alice = chain.accounts[1]
    chain.claim("fields", alice)
    record = chain.registry.functions.record_release
    for version in ["", "1.0 beta", "1/0", "v\u00e9"]:
        with refused("bad version"):
            chain.transact(record("fields", version, cid_of(1), DIGEST), alice)
    for cid in ["short", "bafy/../../etc", "bafkrei" + "=" * 10]:
        with refused("bad cid"):
            chain.transact(record("fields", "1.0", cid, DIGEST), alice)
    with refused("empty manifest digest"):
        chain.transact(record("fields", "1.0", cid_of(1), b"\0" * 32), alice)
    chain.transact(record("fields", "1.0.0rc1+local_build-2!x", "A" * 128, DIGEST), alice)
    chain.transact(record("fields", "v" * 64, "Qm" + "z" * 6, DIGEST), alice)


def test_signed_release_relayed_and_not_replayable(chain: Chain) -> None:
    key = Account.create().key.hex()
    publisher = Account.from_key(key).address
    relayer = chain.accounts[5]
    who, deadline, signature = chain.sign_claim(key, "relayed-release")
    chain.transact(chain.registry.functions.claim_signed("relayed-release", who, deadline, signature), relayer)
    deadline, signature = chain.sign_release(key, "relayed-release", "2.0.0", cid_of(7), DIGEST)
    call = chain.registry.functions.record_release_signed
    with refused("signature is not the publisher's"):  # another CID than signed
        chain.transact(call("relayed-release", "2.0.0", cid_of(8), DIGEST, deadline, signature), relayer)
    receipt = chain.transact(call("relayed-release", "2.0.0", cid_of(7), DIGEST, deadline, signature), relayer)
    (event,) = chain.events(chain.registry, "ReleaseRecorded", receipt)
    assert event["args"]["publisher"] == publisher
    assert chain.registry.functions.nonces(publisher).call() == 2
    with refused("signature is not the publisher's"):  # the same statement again: nonce spent
        chain.transact(call("relayed-release", "2.0.0", cid_of(7), DIGEST, deadline, signature), relayer)
    # for another registry contract: refused here
    deadline, signature = chain.sign_release(key, "relayed-release", "3.0.0", cid_of(9), DIGEST, contract=relayer)
    with refused("signature is not the publisher's"):
        chain.transact(call("relayed-release", "3.0.0", cid_of(9), DIGEST, deadline, signature), relayer)
    with refused("name not claimed"):
        chain.transact(call("nobody", "1.0", cid_of(9), DIGEST, deadline, signature), relayer)
