"""`plugyard market ...` as real processes against a real nats-server, with a fake marketplace answering the RPCs:
what each command asks, what it signs (decoded back from the raw bytes `submit` receives), and what it prints."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct

from plugyard_artifacts.keys import PASSPHRASE_ENV, save_key
from plugyard_core.embedded_nats import free_port
from plugyard_schemas.marketplace import (
    FaucetRequest,
    MarketShowRequest,
    PrepareRequest,
    ReputationRequest,
    ReviewReply,
    review_message,
)
from tests.cli_market.fake_marketplace import CHAIN_ID, CID, SHOP, FakeMarketplace, Refuse, chain_reply, decode, show_reply, unsigned

REPO = Path(__file__).parents[2]
ETH = 10**18

# `plugyard` with the market commands mounted (main.py registers them; until then the test mounts them itself).
ENTRY = """
import sys
from plugyard_cli import main
from plugyard_cli.commands import market
if not any(group.name == "market" for group in main.app.registered_groups):
    main.app.add_typer(market.app, name="market")
sys.argv = ["plugyard", *sys.argv[1:]]
main.run()
"""


@pytest.fixture
async def market(nc):
    fake = await FakeMarketplace(nc).start()
    yield fake
    await fake.stop()


@pytest.fixture
def seller():
    return Account.create()


@pytest.fixture
def key_file(tmp_path, seller) -> Path:
    path = tmp_path / "seller.key"
    save_key(seller, path, passphrase=None, plain=True)
    return path


@pytest.fixture
def run(nats_server, tmp_path):
    env = {key: value for key, value in os.environ.items() if key not in {"PLUGYARD_NATS_CREDS", PASSPHRASE_ENV, "PLUGYARD_NATS_CA"}}
    env.update(PLUGYARD_NATS_URL=nats_server.url, PLUGYARD_DATA_DIR=str(tmp_path / "data"), COLUMNS="200")

    async def cli(*args: str, extra_env: dict[str, str] | None = None) -> tuple[int, str, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", ENTRY, "market", *args, env={**env, **(extra_env or {})}, cwd=REPO,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 60)
        return process.returncode, out.decode(), err.decode()

    return cli


def one_line_error(err: str, *parts: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for part in parts:
        assert part in lines[0], lines[0]
    return lines[0]


def assert_signed_as_prepared(raw: str, prepared, signer: str) -> str:
    """The raw transaction is type 2 with exactly the prepared fields, signed by `signer`; returns its hash."""
    fields, sender, tx_hash = decode(raw)
    assert sender == signer
    assert fields["type"] == 2
    assert fields["chainId"] == prepared.chain_id
    assert fields["nonce"] == prepared.nonce
    assert fields["gas"] == prepared.gas
    assert fields["maxFeePerGas"] == int(prepared.max_fee_per_gas_wei)
    assert fields["maxPriorityFeePerGas"] == int(prepared.max_priority_fee_per_gas_wei)
    assert "0x" + bytes(fields["to"]).hex() == prepared.to.lower()
    assert "0x" + bytes(fields["data"]).hex() == prepared.data.lower()
    assert fields["value"] == int(prepared.value_wei)
    assert not fields["accessList"]
    return tx_hash


# --- list / buy / withdraw: prepare, show, sign locally, submit ------------------------------------------------


async def test_list_signs_each_prepared_transaction_in_order(market, run, key_file, seller):
    prepared = [unsigned("claim bars-paid on the release registry", nonce=7, to="0x" + "ab" * 20, data="0x01020304"),
                unsigned("list bars-paid at 0.01 ETH", nonce=8, data="0x" + "ff" * 100)]
    market.prepare_with(prepared, price_wei=str(ETH // 100))
    code, out, err = await run("list", "bars-paid", "--price", "0.01eth", "--key", str(key_file), "--json")
    assert code == 0, err
    assert market.received["prepare"] == [PrepareRequest(action="list", account=seller.address, name="bars-paid", price_wei=str(ETH // 100))]
    hashes = [assert_signed_as_prepared(request.raw_transaction, tx, seller.address) for request, tx in zip(market.received["submit"], prepared, strict=True)]
    result = json.loads(out)
    assert [item["tx_hash"] for item in result["transactions"]] == hashes
    assert [item["block_number"] for item in result["transactions"]] == [101, 102]
    assert [item["what"] for item in result["transactions"]] == [tx.what for tx in prepared]
    assert result["action"] == "list" and result["name"] == "bars-paid" and result["price_wei"] == str(ETH // 100)
    assert result["account"] == seller.address


async def test_list_shows_what_each_transaction_does(market, run, key_file):
    market.prepare_with([unsigned("claim bars-paid", nonce=0), unsigned("list bars-paid at 0.01 ETH", nonce=1)],
                        price_wei=str(ETH // 100), notes=["the name is claimed first"])
    code, out, err = await run("list", "bars-paid", "--price", "0.01 ETH", "--key", str(key_file))
    assert code == 0, err
    assert "[1/2] claim bars-paid (to 0x5fbdb2315678afecb367f032d93f642f64180aa3, sends no ether, gas at most 120000" in out
    assert "[2/2] list bars-paid at 0.01 ETH" in out
    assert "mined in block 101" in out and "mined in block 102" in out
    assert "note: the name is claimed first" in out
    assert "listed bars-paid at 0.01 ETH (10000000000000000 wei)" in out


async def test_list_for_free(market, run, key_file, seller):
    market.prepare_with([unsigned("list bars-free for free", nonce=0)], price_wei="0")
    code, out, err = await run("list", "bars-free", "--price", "0", "--key", str(key_file))
    assert code == 0, err
    assert market.received["prepare"][0].price_wei == "0"
    assert "listed bars-free at 0 ETH (0 wei) (free)" in out


async def test_buy_without_max_price_pays_at_most_the_quote_and_says_so(market, run, key_file, seller):
    prepared = [unsigned("buy bars-paid for 0.01 ETH", nonce=3, value_wei=ETH // 100)]
    market.prepare_with(prepared, price_wei=str(ETH // 100))
    code, out, err = await run("buy", "bars-paid", "--key", str(key_file))
    assert code == 0, err
    assert market.received["prepare"] == [PrepareRequest(action="buy", account=seller.address, name="bars-paid")]
    assert_signed_as_prepared(market.received["submit"][0].raw_transaction, prepared[0], seller.address)
    assert "no --max-price given: paying at most the quoted price" in out
    assert "sends 0.01 ETH (10000000000000000 wei)" in out
    assert f"bought bars-paid for 0.01 ETH (10000000000000000 wei): {seller.address} is entitled to it" in out
    assert len(market.received["entitlement"]) == 2  # it waited until the marketplace confirmed the purchase


async def test_buy_with_max_price_at_or_above_the_quote(market, run, key_file, seller):
    prepared = [unsigned("buy bars-paid", nonce=0, value_wei=ETH // 100)]
    market.prepare_with(prepared, price_wei=str(ETH // 100))
    code, out, err = await run("buy", "bars-paid", "--key", str(key_file), "--max-price", "0.02eth", "--json")
    assert code == 0, err
    assert market.received["prepare"][0].max_price_wei == str(2 * ETH // 100)
    result = json.loads(out)
    assert result["price_wei"] == str(ETH // 100) and result["max_price_wei"] == str(2 * ETH // 100)
    assert len(result["transactions"]) == 1 and result["transactions"][0]["succeeded"] is True
    code, out, err = await run("buy", "bars-paid", "--key", str(key_file), "--max-price", "10000000gwei", "--json")
    assert code == 0, err
    assert len(market.received["submit"]) == 2


async def test_buy_with_max_price_below_the_quote_signs_nothing(market, run, key_file):
    market.prepare_with([unsigned("buy bars-paid", nonce=0, value_wei=2 * ETH // 100)], price_wei=str(2 * ETH // 100))
    code, out, err = await run("buy", "bars-paid", "--key", str(key_file), "--max-price", "0.01eth", "--json")
    assert code == 1
    one_line_error(err, "costs 0.02 ETH", "above --max-price 0.01 ETH", "nothing was signed")
    assert json.loads(out)["error"]["code"] == "refused"
    assert market.received["submit"] == []


@pytest.mark.parametrize("max_price", [None, "0.05eth"])
async def test_buy_refuses_transactions_that_pay_more_than_agreed(market, run, key_file, max_price):
    """A marketplace that quotes one price and prepares a transaction paying more gets nothing signed."""
    market.prepare_with([unsigned("buy bars-paid", nonce=0, value_wei=ETH)], price_wei=str(ETH // 100))
    code, out, err = await run("buy", "bars-paid", "--key", str(key_file), *(["--max-price", max_price] if max_price else []))
    assert code == 1
    one_line_error(err, "send 1 ETH", "above the most you agreed to pay", "nothing was signed")
    assert market.received["submit"] == []


async def test_list_refuses_transactions_that_send_ether(market, run, key_file):
    market.prepare_with([unsigned("list bars-paid", nonce=0, value_wei=1)], price_wei="5")
    code, out, err = await run("list", "bars-paid", "--price", "5wei", "--key", str(key_file))
    assert code == 1
    one_line_error(err, "send 0.000000000000000001 ETH (1 wei) for a list", "nothing was signed")
    assert market.received["submit"] == []


async def test_a_failed_transaction_stops_the_sequence(market, run, key_file, seller):
    market.prepare_with([unsigned("claim bars-paid", nonce=0), unsigned("list bars-paid", nonce=1), unsigned("announce", nonce=2)], price_wei="1")
    market.fail_submit = {2: "Shop: not the publisher of this name"}
    code, out, err = await run("list", "bars-paid", "--price", "1wei", "--key", str(key_file), "--json")
    assert code == 1
    line = one_line_error(err, "transaction 2/3 (list bars-paid) failed in block 102", "Shop: not the publisher of this name",
                          "the 1 before it went through", "nothing after it was signed")
    assert json.loads(out) == {"error": {"code": "reverted", "message": line.removeprefix("error: ")}}
    assert len(market.received["submit"]) == 2


async def test_a_transaction_the_marketplace_refuses_stops_the_sequence(market, run, key_file):
    market.prepare_with([unsigned("buy bars-paid", nonce=0, value_wei=5), unsigned("second", nonce=1)], price_wei="5")

    def refuse(request):
        raise Refuse("refused", "insufficient funds for gas * price + value")

    market.answers["submit"] = refuse
    code, out, err = await run("buy", "bars-paid", "--key", str(key_file))
    assert code == 1
    one_line_error(err, "transaction 1/2 (buy bars-paid) was not accepted: insufficient funds for gas * price + value")
    assert len(market.received["submit"]) == 1


async def test_a_reverted_transaction_without_a_reason(market, run, key_file):
    market.prepare_with([unsigned("withdraw", nonce=0)], balance_wei="7")
    market.fail_submit = {1: None}
    code, out, err = await run("withdraw", "--key", str(key_file))
    assert code == 1
    one_line_error(err, "transaction 1/1 (withdraw) failed", "reverted (the node gave no reason)")


async def test_prepare_refused_is_one_line(market, run, key_file):
    def refuse(request):
        raise Refuse("not_found", "bars-paid is not listed")

    market.answers["prepare"] = refuse
    code, out, err = await run("buy", "bars-paid", "--key", str(key_file), "--json")
    assert code == 1
    one_line_error(err, "the marketplace cannot prepare the buy: bars-paid is not listed")
    assert json.loads(out)["error"]["code"] == "not_found"


async def test_withdraw(market, run, key_file, seller):
    prepared = [unsigned("withdraw 0.0095 ETH", nonce=4)]
    market.prepare_with(prepared, balance_wei=str(95 * ETH // 10_000))
    code, out, err = await run("withdraw", "--key", str(key_file))
    assert code == 0, err
    assert market.received["prepare"] == [PrepareRequest(action="withdraw", account=seller.address)]
    assert_signed_as_prepared(market.received["submit"][0].raw_transaction, prepared[0], seller.address)
    assert "has 0.0095 ETH (9500000000000000 wei) to withdraw" in out
    assert f"withdrew 0.0095 ETH (9500000000000000 wei) to {seller.address}" in out

    market.prepare_with([], balance_wei="0", notes=["nothing to withdraw"])
    code, out, err = await run("withdraw", "--key", str(key_file), "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["transactions"] == [] and result["balance_wei"] == "0" and result["notes"] == ["nothing to withdraw"]
    assert len(market.received["submit"]) == 1


async def test_a_keystore_needs_its_passphrase_like_publish(market, run, tmp_path):
    account = Account.create()
    path = tmp_path / "locked.key"
    save_key(account, path, passphrase="s3cret", scrypt_n=2**4)
    prepared = [unsigned("withdraw", nonce=0)]
    market.prepare_with(prepared, balance_wei="1")
    code, out, err = await run("withdraw", "--key", str(path), extra_env={PASSPHRASE_ENV: "s3cret"})
    assert code == 0, err
    assert_signed_as_prepared(market.received["submit"][0].raw_transaction, prepared[0], account.address)

    code, out, err = await run("withdraw", "--key", str(path), "--json", extra_env={PASSPHRASE_ENV: "wrong"})
    assert code == 64
    one_line_error(err)
    code, out, err = await run("withdraw", "--key", str(path))  # no passphrase and no terminal to ask on
    assert code == 64
    one_line_error(err, PASSPHRASE_ENV)
    code, out, err = await run("withdraw", "--key", str(tmp_path / "missing.key"))
    assert code == 64
    one_line_error(err, "missing.key")
    assert len(market.received["submit"]) == 1 and len(market.received["prepare"]) == 1


# --- show / reputation ------------------------------------------------------------------------------------------


async def test_show_json_is_the_reply(market, run):
    code, out, err = await run("show", "bars-paid", "--json")
    assert code == 0, err
    assert json.loads(out) == show_reply().model_dump()
    assert market.received["show"] == [MarketShowRequest(name="bars-paid")]


async def test_show_for_people(market, run):
    code, out, err = await run("show", "bars-paid")
    assert code == 0, err
    assert "listing:            0.01 ETH (10000000000000000 wei), sold by 0x1111111111111111111111111111111111111111" in out
    assert f"1.9.0  {CID}" in out
    assert "★★★★☆ 1.9.0 by 0x2222222222222222222222222222222222222222 (purchase, 2026-01-02T03:04:05+00:00): does the job" in out
    assert "reputation:         72.5 / 100" in out
    assert "CONFLICT" not in out

    market.answers["show"] = lambda request: show_reply(
        chain_publisher="0x3333333333333333333333333333333333333333",
        conflict="the chain's claim (0x3333…) differs from the registry's publisher; the registry's stands",
        listing={"listed": False, "price_wei": "0"}, releases=[], reviews=[],
    )
    code, out, err = await run("show", "bars-paid")
    assert code == 0, err
    assert "CONFLICT: the chain's claim (0x3333…) differs from the registry's publisher; the registry's stands" in out
    assert "not for sale" in out and "releases on the chain: none" in out and "reviews: none" in out


async def test_show_not_found_is_one_line(market, run):
    def refuse(request):
        raise Refuse("not_found", "no plugin named nope")

    market.answers["show"] = refuse
    code, out, err = await run("show", "nope")
    assert code == 1
    one_line_error(err, "no plugin named nope")


async def test_reputation(market, run):
    code, out, err = await run("reputation", "bars-paid", "--explain", "--json")
    assert code == 0, err
    reply = json.loads(out)
    assert reply["plugin"]["score"] == 72.5 and [term["term"] for term in reply["plugin"]["terms"]] == ["scanner verdicts", "reviews", "yanks"]
    assert market.received["reputation"] == [ReputationRequest(name="bars-paid")]

    code, out, err = await run("reputation", "bars-paid")
    assert code == 0, err
    assert "plugin bars-paid: 72.5 / 100" in out and "publisher 0x1111111111111111111111111111111111111111: 80.0 / 100" in out
    assert "evidence" not in out

    code, out, err = await run("reputation", "bars-paid", "--explain")
    assert code == 0, err
    rows = [line.split() for line in out.splitlines()]
    assert ["term", "value", "weight", "contribution", "evidence"] in rows
    assert ["reviews", "0.650", "0.500", "+32.50", "2", "reviews", "from", "buyers,", "mean", "3.6", "stars"] in rows
    assert ["score", "72.50"] in rows


# --- review -----------------------------------------------------------------------------------------------------


async def test_review_signs_the_review_message_for_the_newest_version(market, run, key_file, seller):
    before = datetime.now(UTC).replace(microsecond=0)
    code, out, err = await run("review", "bars-paid", "--stars", "5", "--text", "works\nwell", "--key", str(key_file), "--json")
    assert code == 0, err
    [sent] = market.received["review"]
    assert (sent.name, sent.version, sent.stars, sent.text, sent.account) == ("bars-paid", "1.10.0", 5, "works\nwell", seller.address)
    issued = datetime.fromisoformat(sent.issued_at)
    assert issued.utcoffset() == timedelta(0) and before <= issued <= datetime.now(UTC)
    message = review_message("bars-paid", "1.10.0", 5, "works\nwell", seller.address, sent.issued_at, CHAIN_ID, SHOP)
    assert Account.recover_message(encode_defunct(text=message), signature=sent.signature) == seller.address
    assert len(market.received["chain"]) == 1 and len(market.received["show"]) == 1
    assert json.loads(out) == {"name": "bars-paid", "version": "1.10.0", "account": seller.address, "stars": 5,
                               "issued_at": sent.issued_at, "accepted": True, "replaced": False, "verified_by": "purchase"}


async def test_review_of_a_given_version_binds_the_chain_and_shop(market, run, key_file, seller):
    other_shop = "0x" + "9a" * 20
    market.answers["chain"] = lambda request: chain_reply(chain_id=8453, shop=other_shop, dev_chain=False)
    market.answers["review"] = lambda request: ReviewReply(accepted=True, replaced=True, verified_by="install")
    code, out, err = await run("review", "bars-paid", "--stars", "2", "--text", "slow", "--version", "1.2.0", "--key", str(key_file))
    assert code == 0, err
    assert "review of bars-paid 1.2.0 replaced your earlier review (verified by install)" in out
    assert market.received["show"] == []
    [sent] = market.received["review"]
    message = review_message("bars-paid", "1.2.0", 2, "slow", seller.address, sent.issued_at, 8453, other_shop)
    assert Account.recover_message(encode_defunct(text=message), signature=sent.signature) == seller.address


async def test_review_refused_is_one_line(market, run, key_file):
    def refuse(request):
        raise Refuse("refused", "0xabc… neither bought nor installed bars-paid")

    market.answers["review"] = refuse
    code, out, err = await run("review", "bars-paid", "--stars", "1", "--text", "never used it", "--key", str(key_file), "--json")
    assert code == 1
    one_line_error(err, "the review of bars-paid 1.10.0 was refused: 0xabc… neither bought nor installed bars-paid")
    assert json.loads(out)["error"]["code"] == "refused"


async def test_review_with_no_release_asks_for_a_version(market, run, key_file):
    market.answers["show"] = lambda request: show_reply(releases=[])
    code, out, err = await run("review", "bars-paid", "--stars", "3", "--text", "ok", "--key", str(key_file))
    assert code == 1
    one_line_error(err, "no release of bars-paid: give --version")
    assert market.received["review"] == []


@pytest.mark.parametrize(("args", "says"), [
    (["--stars", "6", "--text", "x"], "--stars"),
    (["--stars", "0", "--text", "x"], "--stars"),
    (["--stars", "3", "--text", "x" * 2001], "at most 2000"),
], ids=["six-stars", "no-stars", "long-text"])
async def test_review_usage_errors(market, run, key_file, args, says):
    code, out, err = await run("review", "bars-paid", *args, "--key", str(key_file))
    assert code == 64
    one_line_error(err, says)
    assert market.received == {}


# --- faucet -----------------------------------------------------------------------------------------------------


async def test_faucet_defaults_to_10_eth(market, run, key_file, seller):
    code, out, err = await run("faucet", "--key", str(key_file), "--json")
    assert code == 0, err
    assert market.received["faucet"] == [FaucetRequest(account=seller.address, amount_wei=str(10 * ETH))]
    assert json.loads(out) == {"account": seller.address, "balance_wei": str(10 * ETH + 5), "amount_wei": str(10 * ETH)}
    code, out, err = await run("faucet", "--key", str(key_file), "--amount", "2.5eth")
    assert code == 0, err
    assert market.received["faucet"][-1].amount_wei == str(25 * ETH // 10)
    assert f"sent 2.5 ETH (2500000000000000000 wei) to {seller.address}" in out


async def test_faucet_refused_off_the_dev_chain_shows_the_service_error(market, run, key_file):
    def refuse(request):
        raise Refuse("refused", "the faucet works only on the local development chain (this is chain 1)")

    market.answers["faucet"] = refuse
    code, out, err = await run("faucet", "--key", str(key_file))
    assert code == 1
    assert one_line_error(err) == "error: the faucet works only on the local development chain (this is chain 1)"


# --- bad input and no stack ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "says"), [
    (["list", "bars-paid", "--price", "5"], "--price '5' has no unit: add eth, gwei or wei"),
    (["list", "bars-paid", "--price", "-1eth"], "cannot be negative"),
    (["list", "bars-paid", "--price", "0.5wei"], "not a whole number of wei"),
    (["buy", "bars-paid", "--max-price", "lots"], "--max-price 'lots' is not an amount"),
    (["faucet", "--amount", "10"], "--amount '10' has no unit"),
    (["list", "x" * 101, "--price", "1wei"], "name"),
], ids=["bare-number", "negative", "half-wei", "garbage", "faucet-bare", "long-name"])
async def test_usage_errors_exit_64_before_asking_anything(market, run, key_file, args, says):
    code, out, err = await run(*args, "--key", str(key_file), "--json")
    assert code == 64, (out, err)
    one_line_error(err, says)
    assert json.loads(out)["error"]["code"] == "invalid_request"
    assert market.received == {}


async def test_no_marketplace_answering_exits_69(nats_server, run, key_file):
    code, out, err = await run("show", "bars-paid")
    assert code == 69
    one_line_error(err, "no service answers on plugyard.rpc.marketplace.show")


def test_no_nats_exits_69(tmp_path, key_file):
    env = {**os.environ, "PLUGYARD_NATS_URL": f"nats://127.0.0.1:{free_port()}", "PLUGYARD_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run([sys.executable, "-c", ENTRY, "market", "faucet", "--key", str(key_file)], env=env, capture_output=True, text=True, timeout=60, cwd=REPO)
    assert done.returncode == 69
    one_line_error(done.stderr, "cannot reach NATS")


def test_the_market_commands_import_no_ethereum_library_at_start_up():
    code = "import sys, plugyard_cli.commands.market; print(sorted({m.split('.')[0] for m in sys.modules} & {'eth_account', 'web3', 'eth_utils', 'eth_keys'}))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
