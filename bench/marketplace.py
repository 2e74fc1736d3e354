"""The marketplace (issue 12), each figure beside the limit it is measured against, in one run:

1. Purchase latency, on one anvil node per setting, three ways interleaved round by round (their order rotated):
   - `cli`: `plugyard market buy NAME --key K --json` as a user runs it (a subprocess), timed from its start until it
     exits; it exits once the marketplace's `entitlement` RPC, the one the loader asks at install, says entitled.
   - `client`: the same path from this process, without a subprocess's start-up: the marketplace's `prepare` RPC,
     the CLI's own `sign_transaction`, `submit` (the marketplace relays and waits for the receipt), then `entitlement`
     asked every 20 ms until it says entitled (the CLI asks every 0.5 s, each time on a new bus connection).
   - `bare` (the limit): web3.py `shop.functions.buy(NAME, price).transact({"from": A, "value": price})` (web3 fills
     gas, fees and nonce from the node and signs locally: `SignAndSendRawMiddlewareBuilder`) and
     `wait_for_transaction_receipt`, from a fresh funded account, on the same node. Also `bare_confirmed`: the same
     purchase until its block is as deep as the marketplace's confirmations (the chain's own floor for a mirror).
   Every buyer is a fresh account (the shop refuses a second purchase by one account), funded with anvil_setBalance.
   Also timed: the CLI's start-up (`plugyard market buy NAME --key MISSING`: interpreter, imports, arguments, up to
   looking for the key file; no bus).
   The stack is `plugyard up` on a temporary data dir and a free NATS port (the real services, the real CLI: what
   a user runs; an in-process service would leave out the bus hops and processes a user's purchase goes through),
   with plugyard-textkit (examples/plugins/textkit) published, cleared by the scanner and listed by its publisher
   (`plugyard market list`). Two settings, each a stack of its own:
   - `default`: the stack as shipped: its own anvil with a block a second (`--block-time 1`), the marketplace
     mirroring 2 confirmations deep, polling the chain every 1 s.
   - `automine`: an anvil started here without `--block-time` (a block per transaction, mined at once) given to the
     stack with PLUGYARD_CHAIN_URL, PLUGYARD_CHAIN_CONFIRMATIONS=0 and PLUGYARD_CHAIN_POLL_S=0.1: what is left is
     the platform's own overhead.
2. Indexer throughput: on an anvil of its own (automine off, `--per-block` transactions a block, sent from
   impersonated accounts), the contracts deployed, `--plugins` names committed, claimed, recorded and listed, and
   `--buyers` accounts each buying every plugin; then, `--runs` times, interleaved: the service's `mirror_chain`
   (`Indexer`, confirmations 0, + `MarketplaceApplication.record_step` into a fresh SQLite event store, as the service
   stores it) from the deployment block to the head, beside `w3.eth.get_logs` over the same ranges (the indexer's
   2,000 blocks a call) and addresses, and the same eth_getLogs as plain JSON-RPC over HTTP (no web3 formatting).
   The indexer's time is split by wrapping the chain adapter's calls (get_logs, decode, block_hash, head) and
   record_step.

usage: .venv/bin/python bench/marketplace.py [--purchases N] [--plugins K] [--buyers B] [--per-block T] [--runs R]
           [--settings default,automine] [--tiny] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_utils import keccak
from web3 import Web3
from web3.middleware import SignAndSendRawMiddlewareBuilder

from plugyard_artifacts.keys import save_key
from plugyard_cli.chain_node import anvil_path
from plugyard_cli.commands.market import sign_transaction
from plugyard_core.bus_identities import CLIENT
from plugyard_core.connection import connect
from plugyard_core.embedded_nats import free_port
from plugyard_core.rpc import call
from plugyard_marketplace import contracts
from plugyard_marketplace.application import MarketplaceApplication, MirrorKey
from plugyard_marketplace.chain import GAS_LIMITS, Chain
from plugyard_marketplace.indexer import DEFAULT_MAX_RANGE, Indexer
from plugyard_marketplace.main import DEFAULT_CONFIRMATIONS, DEFAULT_POLL_S, mirror_chain
from plugyard_schemas.marketplace import (
    ChainReply, ChainRequest, EntitlementReply, EntitlementRequest, PrepareReply, PrepareRequest, SubmitReply, SubmitRequest,
)

ROOT = Path(__file__).resolve().parents[1]
PLUGYARD = str(Path(sys.executable).parent / "plugyard")
TEXTKIT = ROOT / "examples" / "plugins" / "textkit"
NAME = "plugyard-textkit"
PRICE = "0.01eth"
PRICE_WEI = 10**16
ETH = 10**18
AIM = 1.5
CLIENT_POLL_S = 0.02
WAYS = ("cli", "client", "bare")
SETTINGS = {
    "default": {"block_time_s": 1, "confirmations": DEFAULT_CONFIRMATIONS, "poll_s": DEFAULT_POLL_S},
    "automine": {"block_time_s": 0, "confirmations": 0, "poll_s": 0.1},
}
FULL = {"purchases": 10, "plugins": 40, "buyers": 250, "per_block": 4, "runs": 3}
TINY = {"purchases": 2, "plugins": 3, "buyers": 5, "per_block": 4, "runs": 1}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def base_env() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if not key.startswith("PLUGYARD_")}


def percentile(values: list[float], share: float) -> float:
    """Nearest rank: the smallest value with at least `share` of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def summary(values: list[float]) -> dict[str, float]:
    return {"median_s": round(statistics.median(values), 4), "p90_s": round(percentile(values, 0.9), 4),
            "min_s": round(min(values), 4), "max_s": round(max(values), 4)}


def wait_until(what: str, check: Callable[[], bool], timeout: float, every: float = 0.25) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: {what} did not happen within {timeout:.0f} s")
        time.sleep(every)


# ---- processes this bench starts ----------------------------------------------------------------------------


class Anvil:
    def __init__(self, directory: Path, block_time_s: int = 0) -> None:
        anvil = anvil_path(base_env())
        if anvil is None:
            raise SystemExit("bench: anvil is not installed (make setup installs it when npm exists)")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        argv = [str(anvil), "--host", "127.0.0.1", "--port", str(self.port), "--chain-id", "31337", "--silent"]
        if block_time_s:
            argv += ["--block-time", str(block_time_s)]
        self.log = directory / "anvil.log"
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        w3 = Web3(Web3.HTTPProvider(self.url))
        wait_until("anvil answering", lambda: self.process.poll() is None and _answers(w3), 30, 0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _answers(w3: Web3) -> bool:
    try:
        return w3.eth.chain_id > 0
    except Exception:  # not listening yet
        return False


class Stack:
    """`plugyard up` in its own process group, as tests/stack/support.py starts it."""

    def __init__(self, directory: Path, extra_env: dict[str, str]) -> None:
        self.data_dir = directory / "data"
        self.url = f"nats://127.0.0.1:{free_port()}"
        self.log = directory / "up.log"
        port = self.url.rsplit(":", 1)[1]
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                [PLUGYARD, "up", "--data-dir", str(self.data_dir), "--nats-port", port],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True, env={**base_env(), **extra_env},
            )
        started = time.monotonic()
        try:
            wait_until("the stack (plugyard status)", lambda: self._ready(), 180, 0.5)
        except SystemExit:
            self.stop()
            raise SystemExit(f"bench: the stack was not ready in 180 s:\n{self.log.read_text(errors='replace')[-3000:]}") from None
        self.ready_s = time.monotonic() - started

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise SystemExit(f"bench: plugyard up exited {self.process.returncode}:\n{self.log.read_text(errors='replace')[-3000:]}")
        return self.cli("status", "--json", timeout=30).returncode == 0

    def env(self) -> dict[str, str]:
        return {**base_env(), "PLUGYARD_NATS_URL": self.url, "PLUGYARD_DATA_DIR": str(self.data_dir)}

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([PLUGYARD, *args], env=self.env(), capture_output=True, text=True, timeout=timeout)

    def cli_json(self, *args: str, timeout: float = 180) -> Any:
        done = self.cli(*args, "--json", timeout=timeout)
        if done.returncode != 0:
            raise SystemExit(f"bench: plugyard {' '.join(args)} exited {done.returncode}: {done.stderr.strip()}")
        return json.loads(done.stdout)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


# ---- 1. purchase latency ------------------------------------------------------------------------------------


def new_key(directory: Path, label: str) -> tuple[Any, Path]:
    account = Account.create()
    path = directory / f"{label}.key"
    save_key(account, path, passphrase=None, plain=True)
    return account, path


class Client:
    """This process on the stack's bus as the `client` identity (what the CLI connects as), one connection kept."""

    def __init__(self, stack: Stack) -> None:
        self.loop = asyncio.new_event_loop()
        self.nc = self.loop.run_until_complete(connect("bench-marketplace", stack.url, identity=CLIENT, data_directory=str(stack.data_dir)))

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    def chain(self) -> ChainReply:
        return self.run(call(self.nc, "plugyard.rpc.marketplace.chain", ChainRequest(), ChainReply, timeout=15))

    def buy(self, account: Any) -> dict[str, float]:
        return self.run(self._buy(account))

    async def _buy(self, account: Any) -> dict[str, float]:
        started = time.perf_counter()
        prepared = await call(self.nc, "plugyard.rpc.marketplace.prepare", PrepareRequest(action="buy", account=account.address, name=NAME),
                              PrepareReply, timeout=30)
        [tx] = prepared.transactions
        assert int(tx.value_wei) == int(prepared.price_wei) == PRICE_WEI, prepared
        prepare_done = time.perf_counter()
        raw, _ = sign_transaction(tx, account)
        signed = time.perf_counter()
        reply = await call(self.nc, "plugyard.rpc.marketplace.submit", SubmitRequest(raw_transaction=raw), SubmitReply, timeout=180)
        if not reply.succeeded:
            raise SystemExit(f"bench: the purchase by {account.address} reverted: {reply.revert_reason}")
        mined = time.perf_counter()
        asked = EntitlementRequest(name=NAME, account=account.address)
        while not (await call(self.nc, "plugyard.rpc.marketplace.entitlement", asked, EntitlementReply, timeout=15)).entitled:
            if time.perf_counter() - mined > 120:
                raise SystemExit(f"bench: the purchase by {account.address} was not mirrored within 120 s")
            await asyncio.sleep(CLIENT_POLL_S)
        visible = time.perf_counter()
        return {"total": visible - started, "prepare": prepare_done - started, "sign": signed - prepare_done,
                "submit_mined": mined - signed, "mined_to_entitled": visible - mined}

    def close(self) -> None:
        self.run(self.nc.close())
        self.loop.close()


class Bare:
    """web3.py alone on the same node: transact (web3 fills gas, fees, nonce; signs locally) and wait for the receipt."""

    def __init__(self, url: str, shop: str, accounts: list[Any], confirmations: int) -> None:
        self.w3 = Web3(Web3.HTTPProvider(url))
        self.w3.middleware_onion.inject(SignAndSendRawMiddlewareBuilder.build(accounts), layer=0)
        self.shop = self.w3.eth.contract(address=Web3.to_checksum_address(shop), abi=contracts.load("Shop")["abi"])
        self.confirmations = confirmations

    def buy(self, account: Any) -> dict[str, float]:
        started = time.perf_counter()
        tx_hash = self.shop.functions.buy(NAME, PRICE_WEI).transact({"from": account.address, "value": PRICE_WEI})
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash)
        mined = time.perf_counter()
        if receipt["status"] != 1:
            raise SystemExit(f"bench: the bare purchase by {account.address} reverted")
        while self.w3.eth.block_number < receipt["blockNumber"] + self.confirmations:
            time.sleep(0.02)
        return {"total": mined - started, "confirmed": time.perf_counter() - started}


def cli_buy(stack: Stack, key: Path) -> dict[str, float]:
    started = time.perf_counter()
    done = stack.cli("market", "buy", NAME, "--key", str(key), "--json", timeout=300)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"bench: plugyard market buy exited {done.returncode}: {done.stderr.strip()}")
    result = json.loads(done.stdout)
    assert result["entitled_at_block"] >= result["transactions"][0]["block_number"], result
    return {"total": elapsed}


def cli_start_up(stack: Stack, directory: Path) -> float:
    """`plugyard market buy` up to its first step of its own: the interpreter, the imports, the arguments parsed and
    the key file looked for (missing here, so it stops there: no bus, no chain)."""
    started = time.perf_counter()
    done = stack.cli("market", "buy", NAME, "--key", str(directory / "missing.key"))
    elapsed = time.perf_counter() - started
    assert done.returncode != 0 and "missing.key" in done.stderr, (done.returncode, done.stderr)
    return elapsed


def set_up_listing(stack: Stack, directory: Path, fund: Callable[[str], None]) -> dict[str, float]:
    seconds: dict[str, float] = {}
    publisher, publisher_key = new_key(directory, "publisher")
    started = time.perf_counter()
    stack.cli_json("publish", str(TEXTKIT), "--key", str(publisher_key))

    def cleared() -> bool:
        versions = stack.cli_json("info", NAME)["versions"]
        statuses = {v["status"] for v in versions}
        if statuses & {"quarantined", "warned"}:
            raise SystemExit(f"bench: {NAME} was not cleared by the scanner: {statuses}")
        return statuses == {"cleared"}

    wait_until(f"{NAME} cleared by the scanner", cleared, 180, 0.5)
    seconds["publish_and_clear"] = time.perf_counter() - started
    fund(publisher.address)
    started = time.perf_counter()
    stack.cli_json("market", "list", NAME, "--price", PRICE, "--key", str(publisher_key))
    seconds["list"] = time.perf_counter() - started
    return seconds


def measure_purchases(setting: str, purchases: int, directory: Path) -> dict:
    config = SETTINGS[setting]
    directory.mkdir(parents=True)
    own_anvil = None
    extra: dict[str, str] = {}
    if setting == "automine":
        own_anvil = Anvil(directory)
        extra = {"PLUGYARD_CHAIN_URL": own_anvil.url, "PLUGYARD_CHAIN_CONFIRMATIONS": str(config["confirmations"]),
                 "PLUGYARD_CHAIN_POLL_S": str(config["poll_s"])}
    log(f"purchases ({setting}): starting plugyard up ...")
    stack = None
    client = None
    try:
        stack = Stack(directory, extra)
        chain_url = own_anvil.url if own_anvil else (stack.data_dir / "chain.url").read_text().strip()
        node = Chain(chain_url)
        fund = lambda address: node.faucet(address, 10 * ETH)  # noqa: E731 anvil_setBalance, as `market faucet` does
        log(f"purchases ({setting}): stack ready in {stack.ready_s:.1f} s; publishing and listing {NAME} ...")
        setup = set_up_listing(stack, directory, fund)
        client = Client(stack)
        chain = client.chain()
        assert chain.confirmations == config["confirmations"] and chain.dev_chain, chain
        buyers = {way: [] for way in WAYS}
        for way in WAYS:
            for i in range(purchases):
                account, key = new_key(directory, f"{way}-{i}")
                fund(account.address)
                buyers[way].append((account, key))
        bare = Bare(chain_url, chain.shop, [a for a, _ in buyers["bare"]], config["confirmations"])
        # one of each, untimed: the node, the services and this process warmed up
        cli_start_up(stack, directory)
        warm = [new_key(directory, f"warm-{way}") for way in WAYS]
        for account, _ in warm:
            fund(account.address)
        cli_buy(stack, warm[0][1])
        client.buy(warm[1][0])
        Bare(chain_url, chain.shop, [warm[2][0]], config["confirmations"]).buy(warm[2][0])

        times: dict[str, list[dict[str, float]]] = {way: [] for way in WAYS}
        start_up: list[float] = []
        for i in range(purchases):
            order = WAYS[i % 3:] + WAYS[:i % 3]
            for way in order:
                account, key = buyers[way][i]
                times[way].append(cli_buy(stack, key) if way == "cli" else client.buy(account) if way == "client" else bare.buy(account))
            start_up.append(cli_start_up(stack, directory))
            log(f"  round {i + 1}/{purchases}: " + ", ".join(f"{way} {times[way][-1]['total']:.3f} s" for way in WAYS))
        head = node.head()
    finally:
        if client is not None:
            client.close()
        if stack is not None:
            stack.stop()
        if own_anvil is not None:
            own_anvil.stop()

    result: dict[str, Any] = {
        "setting": setting, "block_time_s": config["block_time_s"], "confirmations": config["confirmations"],
        "poll_s": config["poll_s"], "purchases": purchases, "blocks": head, "stack_ready_s": round(stack.ready_s, 2),
        "setup_s": {k: round(v, 2) for k, v in setup.items()},
        "cli": summary([t["total"] for t in times["cli"]]),
        "cli_start_up": summary(start_up),
        "client": summary([t["total"] for t in times["client"]]),
        "client_stages_median_s": {stage: round(statistics.median(t[stage] for t in times["client"]), 4)
                                   for stage in ("prepare", "sign", "submit_mined", "mined_to_entitled")},
        "bare": summary([t["total"] for t in times["bare"]]),
        "bare_confirmed": summary([t["confirmed"] for t in times["bare"]]),
    }
    for way in ("cli", "client"):
        for limit in ("bare", "bare_confirmed"):
            for stat in ("median_s", "p90_s"):
                result[f"ratio_{way}_{limit}_{stat.removesuffix('_s')}"] = round(result[way][stat] / result[limit][stat], 2)
    return result


# ---- 2. indexer throughput ----------------------------------------------------------------------------------


class Rpc:
    """Plain JSON-RPC over HTTP, batched: for generating the logs (not timed) and the raw eth_getLogs."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.session = requests.Session()
        self.next_id = 0

    def batch(self, calls: list[tuple[str, list]]) -> list[Any]:
        body = []
        for method, params in calls:
            self.next_id += 1
            body.append({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        answers = {a["id"]: a for a in self.session.post(self.url, json=body, timeout=120).json()}
        results = []
        for request in body:
            answer = answers[request["id"]]
            if "error" in answer:
                raise SystemExit(f"bench: {request['method']} failed: {answer['error']}")
            results.append(answer["result"])
        return results

    def one(self, method: str, params: list) -> Any:
        return self.batch([(method, params)])[0]


def generate_logs(chain: Chain, rpc: Rpc, plugins: int, buyers: int, per_block: int) -> dict:
    """Names committed, claimed, recorded and listed by `plugins` publishers, then every buyer buys every plugin;
    `per_block` transactions a block (anvil mines a block only when asked)."""
    registry, shop = chain.registry, chain.shop
    fee = {"maxFeePerGas": hex(50 * 10**9), "maxPriorityFeePerGas": hex(10**9)}
    rpc.one("anvil_autoImpersonateAccount", [True])
    rpc.one("evm_setAutomine", [False])
    publishers = [Account.create().address for _ in range(plugins)]
    accounts = [Account.create().address for _ in range(buyers)]
    rpc.batch([("anvil_setBalance", [a, hex(100 * ETH)]) for a in publishers + accounts])
    names = [f"bench-plugin-{k:04d}" for k in range(plugins)]
    salts = [os.urandom(32) for _ in names]
    nonces: dict[str, int] = defaultdict(int)

    def tx(sender: str, to: Any, call_data: str, value: int = 0, gas: str = "buy") -> tuple[str, list]:
        nonce = nonces[sender]
        nonces[sender] += 1
        return ("eth_sendTransaction", [{"from": sender, "to": to.address, "data": call_data, "value": hex(value),
                                         "gas": hex(GAS_LIMITS[gas]), "nonce": hex(nonce), "type": "0x2", **fee}])

    def mine(transactions: list[tuple[str, list]]) -> None:
        for i in range(0, len(transactions), per_block):
            rpc.batch(transactions[i:i + per_block])
            rpc.one("evm_mine", [])

    commits = [tx(p, registry, registry.functions.commit(keccak(abi_encode(["string", "address", "bytes32"], [n, p, s])))._encode_transaction_data(), gas="commit")
               for p, n, s in zip(publishers, names, salts)]
    mine(commits)
    mine([tx(p, registry, registry.functions.claim(n, s)._encode_transaction_data(), gas="claim") for p, n, s in zip(publishers, names, salts)])
    listing = []
    for k, (p, n) in enumerate(zip(publishers, names)):
        cid = "bafkrei" + keccak(n.encode()).hex()[:52]
        listing.append(tx(p, registry, registry.functions.record_release(n, "1.0.0", cid, keccak(cid.encode()))._encode_transaction_data(), gas="record_release"))
        listing.append(tx(p, shop, shop.functions.list(n, 10**15 + k)._encode_transaction_data(), gas="list"))
    mine(listing)
    buy_data = [shop.functions.buy(n, 10**15 + k)._encode_transaction_data() for k, n in enumerate(names)]
    purchases = [tx(b, shop, buy_data[k], 10**15 + k) for b in accounts for k in range(plugins)]
    mine(purchases)
    pending = rpc.one("txpool_status", [])
    if int(pending["pending"], 16) or int(pending["queued"], 16):
        raise SystemExit(f"bench: transactions left unmined: {pending}")
    rpc.one("evm_setAutomine", [True])
    return {"transactions": len(commits) * 2 + len(listing) + len(purchases), "purchases": len(purchases)}


class Stopwatch:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def wrap(self, name: str, function: Callable) -> Callable:
        seconds, calls = self.seconds, self.calls

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                seconds[name] += time.perf_counter() - started
                calls[name] += 1

        return timed


def ranges(first: int, last: int) -> Iterator[tuple[int, int]]:
    for start in range(first, last + 1, DEFAULT_MAX_RANGE):
        yield start, min(last, start + DEFAULT_MAX_RANGE - 1)


def run_indexer(url: str, addresses: Any, start: int, head: int, directory: Path) -> dict:
    chain = Chain(url, addresses)
    clock = Stopwatch()
    chain.w3.eth.get_logs = clock.wrap("get_logs", chain.w3.eth.get_logs)
    chain.decode = clock.wrap("decode", chain.decode)
    chain.block_hash = clock.wrap("block_hash", chain.block_hash)
    chain.head = clock.wrap("head", chain.head)
    app = MarketplaceApplication(data_dir=directory, mirror=MirrorKey(chain.chain_id, addresses.registry, addresses.shop, start))
    app.record_step = clock.wrap("record_step", app.record_step)
    indexer = Indexer(chain, confirmations=0, start_block=start)
    started = time.perf_counter()
    steps = mirror_chain(app, indexer)
    seconds = time.perf_counter() - started
    assert app.cursor().block >= head, (app.cursor().block, head)
    stored = sum(1 for _ in app.recorder.select_notifications(start=0, limit=10**9))
    return {"seconds": seconds, "steps": steps, "facts": len(app.view.facts), "stored_events": stored,
            "purchases": len(app.view.purchases), "split": dict(clock.seconds), "calls": dict(clock.calls)}


def run_get_logs(url: str, addresses: Any, start: int, head: int) -> tuple[float, int]:
    w3 = Web3(Web3.HTTPProvider(url))
    w3.eth.chain_id  # noqa: B018 the connection opened, as the indexer's is
    started = time.perf_counter()
    count = 0
    for first, last in ranges(start, head):
        count += len(w3.eth.get_logs({"fromBlock": first, "toBlock": last, "address": [addresses.registry, addresses.shop]}))
    return time.perf_counter() - started, count


def run_raw_http(url: str, addresses: Any, start: int, head: int) -> tuple[float, int]:
    rpc = Rpc(url)
    rpc.one("eth_chainId", [])
    started = time.perf_counter()
    count = 0
    for first, last in ranges(start, head):
        count += len(rpc.one("eth_getLogs", [{"fromBlock": hex(first), "toBlock": hex(last), "address": [addresses.registry, addresses.shop]}]))
    return time.perf_counter() - started, count


def measure_indexer(plugins: int, buyers: int, per_block: int, runs: int, directory: Path) -> dict:
    directory.mkdir(parents=True)
    anvil = Anvil(directory)
    try:
        chain = Chain(anvil.url)
        start = chain.head()
        addresses = chain.deploy()
        log(f"indexer: generating {plugins} plugins x {buyers} buyers, {per_block} transactions a block ...")
        started = time.perf_counter()
        generated = generate_logs(chain, Rpc(anvil.url), plugins, buyers, per_block)
        generated["seconds"] = round(time.perf_counter() - started, 3)
        head = chain.head()
        indexer_runs, web3_runs, raw_runs = [], [], []
        for run in range(runs):
            indexer_runs.append(run_indexer(anvil.url, addresses, start, head, directory / f"run-{run}"))
            web3_runs.append(run_get_logs(anvil.url, addresses, start, head))
            raw_runs.append(run_raw_http(anvil.url, addresses, start, head))
            log(f"  run {run + 1}/{runs}: indexer {indexer_runs[-1]['seconds']:.2f} s, w3.eth.get_logs {web3_runs[-1][0]:.3f} s, "
                f"raw eth_getLogs {raw_runs[-1][0]:.3f} s")
    finally:
        anvil.stop()
    logs = web3_runs[0][1]
    if any(r["facts"] != logs for r in indexer_runs) or any(c != logs for _, c in web3_runs + raw_runs):
        raise SystemExit(f"bench: the mirror and eth_getLogs disagree: {[r['facts'] for r in indexer_runs]}, {web3_runs}, {raw_runs}")
    if indexer_runs[0]["purchases"] != generated["purchases"]:
        raise SystemExit(f"bench: {indexer_runs[0]['purchases']} purchases mirrored of {generated['purchases']}")
    median_run = sorted(indexer_runs, key=lambda r: r["seconds"])[len(indexer_runs) // 2]
    indexer_s = median_run["seconds"]
    web3_s = statistics.median(s for s, _ in web3_runs)
    raw_s = statistics.median(s for s, _ in raw_runs)
    split = {name: round(value, 4) for name, value in median_run["split"].items()}
    split["other"] = round(indexer_s - sum(median_run["split"].values()), 4)
    return {
        "plugins": plugins, "buyers": buyers, "per_block": per_block, "runs": runs, "generated": generated,
        "blocks": head - start + 1, "logs": logs, "purchases": generated["purchases"],
        "steps": median_run["steps"], "stored_events": median_run["stored_events"],
        "indexer_s": round(indexer_s, 4), "get_logs_s": round(web3_s, 4), "raw_get_logs_s": round(raw_s, 4),
        "indexer_logs_per_s": round(logs / indexer_s, 1),
        "indexer_blocks_per_s": round((head - start + 1) / indexer_s, 1),
        "get_logs_logs_per_s": round(logs / web3_s, 1),
        "raw_get_logs_logs_per_s": round(logs / raw_s, 1),
        "ratio_get_logs": round((logs / indexer_s) / (logs / web3_s), 4),
        "ratio_raw_get_logs": round((logs / indexer_s) / (logs / raw_s), 4),
        "indexer_split_s": split,
        "indexer_calls": median_run["calls"],
    }


# ---- the report ---------------------------------------------------------------------------------------------


def machine() -> dict:
    anvil = anvil_path(base_env())
    version = subprocess.run([str(anvil), "--version"], capture_output=True, text=True).stdout.splitlines()[0] if anvil else None
    import web3

    return {"cores": os.cpu_count(), "cpu": platform.processor() or platform.machine(), "python": platform.python_version(),
            "web3": web3.__version__, "anvil": version, "platform": platform.platform(), "load_average": round(os.getloadavg()[0], 2)}


def report(result: dict) -> None:
    m = result["machine"]
    print(f"marketplace benchmark: {m['cores']} cores, Python {m['python']}, web3.py {m['web3']}, {m['anvil']}, "
          f"load {m['load_average']:.1f} at start, {result['load_average_end']:.1f} at the end")
    for setting, p in result["purchases"].items():
        print(f"\npurchase latency, {setting}: block time {p['block_time_s'] or 'none (automine)'} s, {p['confirmations']} confirmations, "
              f"indexer poll {p['poll_s']} s; {p['purchases']} purchases each way, interleaved (stack ready in {p['stack_ready_s']} s)")
        print(f"  {'':<56} {'median':>8} {'p90':>8}  ratio to bare (median / p90)  aim")
        rows = [("cli: plugyard market buy (subprocess) until entitled", "cli"),
                ("client: prepare+sign+submit+entitlement from this process", "client"),
                ("bare: web3 transact + wait_for_transaction_receipt", "bare"),
                (f"bare + {p['confirmations']} confirmations (its block that deep)", "bare_confirmed"),
                ("CLI start-up (market buy until it looks for the key)", "cli_start_up")]
        for label, key in rows:
            ratio = ""
            if key in ("cli", "client"):
                r_med, r_p90 = p[f"ratio_{key}_bare_median"], p[f"ratio_{key}_bare_p90"]
                verdict = "met" if r_med <= AIM and r_p90 <= AIM else "missed"
                ratio = f"{r_med:>6.2f}x / {r_p90:.2f}x              ≤ {AIM}x: {verdict}"
            print(f"  {label:<56} {p[key]['median_s']:>7.3f}s {p[key]['p90_s']:>7.3f}s  {ratio}")
        print(f"  against bare + confirmations: cli {p['ratio_cli_bare_confirmed_median']:.2f}x / {p['ratio_cli_bare_confirmed_p90']:.2f}x, "
              f"client {p['ratio_client_bare_confirmed_median']:.2f}x / {p['ratio_client_bare_confirmed_p90']:.2f}x")
        stages = p["client_stages_median_s"]
        print("  client, median by stage: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in stages.items()))
    if "indexer" in result:
        i = result["indexer"]
        print(f"\nindexer: {i['logs']:,} logs ({i['purchases']:,} purchases by {i['buyers']} accounts of {i['plugins']} plugins) in {i['blocks']:,} blocks "
              f"({i['per_block']} transactions a block); median of {i['runs']} runs")
        print(f"  mirror_chain (Indexer + record_step, SQLite)  {i['indexer_s']:>8.3f} s  {i['indexer_logs_per_s']:>9,.0f} logs/s "
              f"({i['steps']} steps, {i['stored_events']} stored events, {i['indexer_blocks_per_s']:,.0f} blocks/s)")
        print(f"  w3.eth.get_logs, same ranges and addresses     {i['get_logs_s']:>8.3f} s  {i['get_logs_logs_per_s']:>9,.0f} logs/s   ratio {i['ratio_get_logs']:.3f}")
        print(f"  eth_getLogs as plain JSON-RPC over HTTP        {i['raw_get_logs_s']:>8.3f} s  {i['raw_get_logs_logs_per_s']:>9,.0f} logs/s   ratio {i['ratio_raw_get_logs']:.3f}")
        print("  the indexer's time: " + ", ".join(f"{k} {v:.3f} s" for k, v in i["indexer_split_s"].items())
              + " (get_logs is inside the chain adapter's facts(), decode after it)")
        print("  calls: " + ", ".join(f"{k} {v:,}" for k, v in i["indexer_calls"].items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for key, value in FULL.items():
        parser.add_argument(f"--{key.replace('_', '-')}", type=int, default=None, help=f"default {value}, --tiny {TINY[key]}")
    parser.add_argument("--settings", default=",".join(SETTINGS), help="which purchase settings (default: default,automine; none to skip)")
    parser.add_argument("--no-indexer", action="store_true", help="skip the indexer part")
    parser.add_argument("--tiny", action="store_true", help="a few seconds' worth, for the test")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    sizes = {key: getattr(args, key) if getattr(args, key) is not None else (TINY if args.tiny else FULL)[key] for key in FULL}
    if any(value < 1 for value in sizes.values()):
        parser.error("every size must be at least 1")
    chosen = [s.strip() for s in args.settings.split(",") if s.strip() and s.strip() != "none"]
    if any(s not in SETTINGS for s in chosen):
        parser.error(f"--settings: choose among {', '.join(SETTINGS)}")
    if anvil_path(base_env()) is None:
        raise SystemExit("bench: anvil is not installed (make setup installs it when npm exists)")
    started = time.perf_counter()
    result: dict[str, Any] = {"machine": machine(), "sizes": sizes, "aim_ratio": AIM, "purchases": {}}
    with tempfile.TemporaryDirectory(prefix="plugyard-bench-market-") as scratch:
        for setting in chosen:
            result["purchases"][setting] = measure_purchases(setting, sizes["purchases"], Path(scratch) / setting)
        if not args.no_indexer:
            result["indexer"] = measure_indexer(sizes["plugins"], sizes["buyers"], sizes["per_block"], sizes["runs"], Path(scratch) / "indexer")
    result["seconds"] = round(time.perf_counter() - started, 1)
    result["load_average_end"] = round(os.getloadavg()[0], 2)
    if args.json:
        print(json.dumps(result))
    else:
        report(result)
        print(f"\n(the whole run took {result['seconds']:.0f} s)")


if __name__ == "__main__":
    main()
