"""`plugyard market ...`: selling, buying, reviewing and rating plugins through the marketplace service
(`plugyard.rpc.marketplace.<verb>`).

The CLI never talks to a chain and never sends a key anywhere. For `list`, `buy` and `withdraw` it asks the
marketplace to `prepare` the transactions, shows each one, signs it here with the key, and hands the signed bytes
to `submit`, one after the other, stopping at the first that does not go through. A `buy` never signs a
transaction that pays more than its maximum price (`--max-price`, else the price quoted).

eth_account is imported only inside the commands that sign: the CLI's start-up stays quick.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError

from plugyard_cli.amounts import AmountError, format_wei, parse_amount
from plugyard_cli.bus import with_nats
from plugyard_cli.output import EXIT_NO, EXIT_UNAVAILABLE, EXIT_USAGE, CliError, console, print_json
from plugyard_core.rpc import RpcError, call, describe_validation_error
from plugyard_core.streams import rpc_subject
from plugyard_schemas.marketplace import (
    ChainReply,
    ChainRequest,
    EntitlementReply,
    EntitlementRequest,
    FaucetReply,
    FaucetRequest,
    MarketShowReply,
    MarketShowRequest,
    PrepareReply,
    PrepareRequest,
    Reputation,
    ReputationReply,
    ReputationRequest,
    ReviewReply,
    ReviewRequest,
    SubmitReply,
    SubmitRequest,
    UnsignedTransaction,
    review_message,
)

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount
    from nats.aio.client import Client

app = typer.Typer(help="The marketplace: sell, buy, review and rate plugins on a chain.", no_args_is_help=True)

PREPARE_TIMEOUT_S = 30.0
SUBMIT_TIMEOUT_S = 180.0  # the marketplace answers once the transaction is mined
MIRROR_WAIT_S = 120.0
MIRROR_POLL_S = 0.1
QUERY_TIMEOUT_S = 15.0
FAUCET_TIMEOUT_S = 60.0
DEFAULT_FAUCET_AMOUNT = "10eth"

Json = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
KeyOption = Annotated[Path, typer.Option("--key", help="Your key file: the account that signs (a keystore asks for its passphrase)")]
PluginName = Annotated[str, typer.Argument(metavar="NAME", help="The plugin")]

ModelT = TypeVar("ModelT", bound=BaseModel)
_EXIT_FOR_CODE = {"invalid_request": EXIT_USAGE, "unavailable": EXIT_UNAVAILABLE}


# --- helpers ---------------------------------------------------------------------------------------------------


def rpc(verb: str) -> str:
    return rpc_subject("marketplace", verb)


def usage(message: str) -> CliError:
    return CliError(message, code="invalid_request", exit_code=EXIT_USAGE)


def amount_option(option: str, text: str) -> int:
    try:
        return parse_amount(text)
    except AmountError as exc:
        raise usage(f"{option} {exc}") from None


def request(model: type[ModelT], **fields: Any) -> ModelT:
    """The request model, a value out of its bounds reported as a usage error naming the field."""
    try:
        return model(**fields)
    except ValidationError as exc:
        raise usage(describe_validation_error(exc)) from None


def load_key(path: Path) -> LocalAccount:
    """The key as `publish` loads it: a plain key as is, a keystore with PLUGYARD_KEY_PASSPHRASE or a prompt."""
    from plugyard_cli.signing_key import load_signing_key

    return load_signing_key(path)


def market_call(verb: str, body: BaseModel, reply_type: type[ModelT], timeout: float = QUERY_TIMEOUT_S) -> ModelT:
    """One question to the marketplace on its own connection; errors become CliError."""
    return with_nats(lambda nc: call(nc, rpc(verb), body, reply_type, timeout=timeout))


def rpc_failure(prefix: str, error: RpcError) -> CliError:
    return CliError(f"{prefix}: {error.message}", code=error.code, exit_code=_EXIT_FOR_CODE.get(error.code, EXIT_NO))


def now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


# --- signing and submitting prepared transactions -------------------------------------------------------------


def transaction_fields(tx: UnsignedTransaction) -> dict[str, Any]:
    """The EIP-1559 (type 2) transaction the marketplace prepared, as eth_account signs it."""
    from eth_utils import to_checksum_address

    return {
        "type": 2,
        "chainId": tx.chain_id,
        "nonce": tx.nonce,
        "gas": tx.gas,
        "maxFeePerGas": int(tx.max_fee_per_gas_wei),
        "maxPriorityFeePerGas": int(tx.max_priority_fee_per_gas_wei),
        "to": to_checksum_address(tx.to),
        "data": tx.data,
        "value": int(tx.value_wei),
    }


def sign_transaction(tx: UnsignedTransaction, account: LocalAccount) -> tuple[str, str]:
    """The signed raw transaction and its hash, both 0x-hex."""
    signed = account.sign_transaction(transaction_fields(tx))
    return "0x" + bytes(signed.raw_transaction).hex(), "0x" + bytes(signed.hash).hex()


def describe_transaction(tx: UnsignedTransaction) -> str:
    fee = tx.gas * int(tx.max_fee_per_gas_wei)
    sends = f"sends {format_wei(tx.value_wei)}" if int(tx.value_wei) else "sends no ether"
    return f"{tx.what} (to {tx.to}, {sends}, gas at most {tx.gas} costing at most {format_wei(fee)}, chain {tx.chain_id}, nonce {tx.nonce})"


def check_transactions(action: str, prepared: PrepareReply, max_value_wei: int | None) -> None:
    """Refuse, before anything is signed, transactions that would pay more than the user agreed to."""
    paid = sum(int(tx.value_wei) for tx in prepared.transactions)
    if action != "buy" and paid:
        raise CliError(
            f"the marketplace prepared transactions that send {format_wei(paid)} for a {action}, which pays nothing; nothing was signed",
            code="refused",
        )
    if max_value_wei is not None and paid > max_value_wei:
        raise CliError(
            f"the prepared transactions send {format_wei(paid)}, above the most you agreed to pay ({format_wei(max_value_wei)}); nothing was signed",
            code="refused",
        )
    chains = {tx.chain_id for tx in prepared.transactions}
    if len(chains) > 1:
        raise CliError(f"the prepared transactions are for several chains ({', '.join(map(str, sorted(chains)))}); nothing was signed", code="refused")


async def submit_all(nc: Client, account: LocalAccount, transactions: list[UnsignedTransaction], *, as_json: bool) -> list[dict[str, Any]]:
    """Sign and submit each transaction in order; stop with one line at the first that does not go through."""
    done: list[dict[str, Any]] = []
    total = len(transactions)
    progress = None
    if total > 1 and not as_json:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

        progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=console, transient=True)
        progress.start()
        task = progress.add_task("transactions", total=total)
    say = progress.console.print if progress else console.print
    try:
        for index, tx in enumerate(transactions, start=1):
            label = f"transaction {index}/{total} ({tx.what})"
            if not as_json:
                say(f"[{index}/{total}] {describe_transaction(tx)}", markup=False, highlight=False, soft_wrap=True)
            try:
                raw, local_hash = sign_transaction(tx, account)
            except Exception as exc:  # eth_account refuses fields it cannot sign (e.g. priority fee above max fee)
                raise CliError(f"cannot sign {label}: {exc}; nothing more was signed", code="refused") from None
            if progress:
                progress.update(task, description=f"waiting for {index}/{total} to be mined")
            try:
                if progress or as_json:
                    reply = await call(nc, rpc("submit"), SubmitRequest(raw_transaction=raw), SubmitReply, timeout=SUBMIT_TIMEOUT_S)
                else:
                    with console.status("waiting for it to be mined…", spinner="dots"):
                        reply = await call(nc, rpc("submit"), SubmitRequest(raw_transaction=raw), SubmitReply, timeout=SUBMIT_TIMEOUT_S)
            except RpcError as error:
                raise rpc_failure(f"{label} was not accepted{_after(done)}", error) from None
            if not reply.succeeded:
                reason = reply.revert_reason or "reverted (the node gave no reason)"
                raise CliError(
                    f"{label} failed in block {reply.block_number} (tx {reply.tx_hash}): {reason}{_after(done)}",
                    code="reverted",
                )
            if _hex_digits(reply.tx_hash) != _hex_digits(local_hash):
                raise CliError(f"{label}: the marketplace reports tx {reply.tx_hash}, but the signed transaction is {local_hash}", code="internal")
            done.append({"what": tx.what, "tx_hash": reply.tx_hash, "block_number": reply.block_number, "gas_used": reply.gas_used, "succeeded": True})
            if progress:
                progress.advance(task)
            if not as_json:
                say(f"      mined in block {reply.block_number}: tx {reply.tx_hash} (gas used {reply.gas_used})", markup=False, highlight=False)
    finally:
        if progress:
            progress.stop()
    return done


def _hex_digits(text: str) -> str:
    return text.lower().removeprefix("0x")


def _after(done: list[dict[str, Any]]) -> str:
    if not done:
        return ""
    return f"; the {len(done)} before it went through ({', '.join(item['tx_hash'] for item in done)}), nothing after it was signed"


def run_action(
    action: str,
    account: LocalAccount,
    *,
    name: str | None = None,
    price_wei: int | None = None,
    max_price_wei: int | None = None,
    as_json: bool,
) -> dict[str, Any]:
    """prepare → check → (show, sign, submit) each; the result for --json."""
    prepare = request(
        PrepareRequest,
        action=action,
        account=account.address,
        name=name,
        price_wei=None if price_wei is None else str(price_wei),
        max_price_wei=None if max_price_wei is None else str(max_price_wei),
    )

    async def job(nc: Client) -> dict[str, Any]:
        try:
            prepared = await call(nc, rpc("prepare"), prepare, PrepareReply, timeout=PREPARE_TIMEOUT_S)
        except RpcError as error:
            raise rpc_failure(f"the marketplace cannot prepare the {action}", error) from None
        limit = None
        if action == "buy":
            if prepared.price_wei is None:
                raise CliError(f"the marketplace quoted no price for {name}; nothing was signed", code="internal")
            quote = int(prepared.price_wei)
            if max_price_wei is not None and quote > max_price_wei:
                raise CliError(
                    f"{name} costs {format_wei(quote)}, above --max-price {format_wei(max_price_wei)}; nothing was signed",
                    code="refused",
                )
            limit = quote if max_price_wei is None else max_price_wei
            if not as_json:
                if max_price_wei is None:
                    console.print(f"{name} costs {format_wei(quote)}; no --max-price given: paying at most the quoted price", markup=False, highlight=False)
                else:
                    console.print(f"{name} costs {format_wei(quote)} (--max-price {format_wei(max_price_wei)})", markup=False, highlight=False)
        check_transactions(action, prepared, limit)
        if not as_json:
            if action == "withdraw" and prepared.balance_wei is not None:
                console.print(f"{account.address} has {format_wei(prepared.balance_wei)} to withdraw", markup=False, highlight=False)
            for note in prepared.notes:
                console.print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)
            if not prepared.transactions:
                console.print("nothing to sign", markup=False, highlight=False)
        results = await submit_all(nc, account, prepared.transactions, as_json=as_json)
        return {
            "action": action,
            "name": name,
            "account": account.address,
            "price_wei": prepared.price_wei,
            "max_price_wei": None if limit is None else str(limit),
            "balance_wei": prepared.balance_wei,
            "notes": prepared.notes,
            "transactions": results,
        }

    return with_nats(job)


# --- the commands ----------------------------------------------------------------------------------------------


@app.command("list")
def list_(
    name: PluginName,
    price: Annotated[str, typer.Option("--price", help="The price with a unit: 0.01eth, 20gwei, 100wei; 0 for free")],
    key: KeyOption,
    as_json: Json = False,
) -> None:
    """Put NAME up for sale (or change its price), signed with the publisher's key."""
    price_wei = amount_option("--price", price)
    account = load_key(key)
    result = run_action("list", account, name=name, price_wei=price_wei, as_json=as_json)
    result["confirmed_at_block"] = wait_until_mirrored(
        name, account.address, lambda reply: reply.listed and int(reply.price_wei) == price_wei, "listing", as_json,
    )
    if as_json:
        print_json(result)
    else:
        console.print(f"listed {name} at {format_wei(price_wei)}" + (" (free)" if price_wei == 0 else ""), markup=False, highlight=False)


@app.command("buy")
def buy(
    name: PluginName,
    key: KeyOption,
    max_price: Annotated[str | None, typer.Option("--max-price", help="Refuse if the price is higher (default: the price quoted now)")] = None,
    as_json: Json = False,
) -> None:
    """Buy NAME for your account: every loader you run can then install it with your key."""
    limit = None if max_price is None else amount_option("--max-price", max_price)
    account = load_key(key)
    result = run_action("buy", account, name=name, max_price_wei=limit, as_json=as_json)
    result["entitled_at_block"] = wait_until_mirrored(name, account.address, lambda reply: reply.entitled, "purchase", as_json)
    if as_json:
        print_json(result)
    else:
        console.print(f"bought {name} for {format_wei(result['price_wei'])}: {account.address} is entitled to it", markup=False, highlight=False)


def wait_until_mirrored(name: str, account: str, done: Callable[[EntitlementReply], bool], what: str, quiet: bool) -> int:
    """Wait until the marketplace has mirrored `what` (enough confirmations): from then on every loader sees it.
    Returns the block the marketplace had mirrored when it had. One connection, a question every MIRROR_POLL_S."""
    import asyncio
    import time

    ask = request(EntitlementRequest, name=name, account=account)

    async def job(nc: Client) -> int:
        deadline = time.monotonic() + MIRROR_WAIT_S
        while True:
            try:
                reply = await call(nc, rpc("entitlement"), ask, EntitlementReply, timeout=QUERY_TIMEOUT_S)
            except RpcError as error:
                raise rpc_failure(f"the {what} is on the chain, but asking the marketplace whether it is confirmed failed", error) from None
            if done(reply):
                return reply.indexed_block
            if time.monotonic() > deadline:
                raise CliError(f"the {what} is on the chain, but the marketplace has not confirmed it within {MIRROR_WAIT_S:.0f} s "
                               f"(mirrored up to block {reply.indexed_block})", code="unavailable", exit_code=EXIT_UNAVAILABLE)
            await asyncio.sleep(MIRROR_POLL_S)

    with console.status(f"waiting for the {what} to be confirmed…", spinner="dots") if not quiet else nullcontext():
        return with_nats(job)


@app.command("withdraw")
def withdraw(key: KeyOption, as_json: Json = False) -> None:
    """Withdraw what your sales earned to your account."""
    account = load_key(key)
    result = run_action("withdraw", account, as_json=as_json)
    if as_json:
        print_json(result)
    elif result["transactions"]:
        amount = f" {format_wei(result['balance_wei'])}" if result["balance_wei"] is not None else ""
        console.print(f"withdrew{amount} to {account.address}", markup=False, highlight=False)


@app.command("show")
def show(name: PluginName, as_json: Json = False) -> None:
    """What the chain says about NAME: publisher, price, releases (CIDs), reviews, reputation, and any conflict."""
    reply = market_call("show", request(MarketShowRequest, name=name), MarketShowReply)
    if as_json:
        print_json(reply.model_dump())
        return
    for line in show_lines(reply):
        console.print(line, markup=False, highlight=False, soft_wrap=True)


def show_lines(reply: MarketShowReply) -> list[str]:
    lines = [reply.name]
    lines.append(f"  registry publisher: {reply.registry_publisher or '(not published in the registry)'}")
    lines.append(f"  chain publisher:    {reply.chain_publisher or '(not claimed on the chain)'}")
    if reply.conflict:
        lines.append(f"  CONFLICT: {reply.conflict}")
    listing = reply.listing
    if listing.listed:
        price = "free" if int(listing.price_wei) == 0 else format_wei(listing.price_wei)
        lines.append(f"  listing:            {price}" + (f", sold by {listing.seller}" if listing.seller else ""))
    else:
        lines.append("  listing:            not for sale (installs as a free plugin)")
    lines.append(f"  reputation:         {reply.reputation.score:.1f} / 100")
    if reply.releases:
        lines.append(f"  releases on the chain ({len(reply.releases)}):")
        for release in reply.releases:
            lines.append(f"    {release.version}  {release.cid}  manifest {release.manifest_digest}  block {release.block_number}  tx {release.tx_hash}")
    else:
        lines.append("  releases on the chain: none")
    if reply.reviews:
        lines.append(f"  reviews ({len(reply.reviews)}):")
        for review in reply.reviews:
            stars = "★" * review.stars + "☆" * (5 - review.stars)
            lines.append(f"    {stars} {review.version} by {review.account} ({review.verified_by}, {review.issued_at}): {review.text}")
    else:
        lines.append("  reviews: none")
    return lines


@app.command("reputation")
def reputation(
    name: PluginName,
    explain: Annotated[bool, typer.Option("--explain", help="Each term of the score: value, weight, contribution, evidence")] = False,
    as_json: Json = False,
) -> None:
    """NAME's reputation (0-100) and its publisher's, from what the platform observed."""
    reply = market_call("reputation", request(ReputationRequest, name=name), ReputationReply)
    if as_json:
        print_json(reply.model_dump())
        return
    for label, subject in (("plugin", reply.plugin), ("publisher", reply.publisher)):
        if subject is None:
            continue
        console.print(f"{label} {subject.subject}: {subject.score:.1f} / 100", markup=False, highlight=False)
        if explain:
            console.print(reputation_table(subject))


def reputation_table(subject: Reputation):
    from rich.table import Table

    table = Table(show_edge=False, box=None, pad_edge=False)
    for column, justify in (("term", "left"), ("value", "right"), ("weight", "right"), ("contribution", "right"), ("evidence", "left")):
        table.add_column(column, justify=justify, overflow="fold")
    for term in subject.terms:
        table.add_row(term.term, f"{term.value:.3f}", f"{term.weight:.3f}", f"{term.contribution:+.2f}", term.evidence)
    if not subject.terms:
        table.add_row("(no terms)", "", "", "", "")
    table.add_row("score", "", "", f"{subject.score:.2f}", "")
    return table


def newest_version(reply: MarketShowReply) -> str:
    """The newest release the marketplace shows: the highest version (PEP 440), the latest block where versions don't parse."""
    from packaging.version import InvalidVersion, Version

    def order(release) -> tuple:
        try:
            return (1, Version(release.version), release.block_number)
        except InvalidVersion:
            return (0, release.block_number)

    parsed = [r for r in reply.releases if order(r)[0] == 1]
    candidates = parsed or reply.releases
    return max(candidates, key=order).version


@app.command("review")
def review(
    name: PluginName,
    stars: Annotated[int, typer.Option("--stars", min=1, max=5, help="1 to 5")],
    text: Annotated[str, typer.Option("--text", help="What you have to say (at most 2000 characters)")],
    key: KeyOption,
    version: Annotated[str | None, typer.Option("--version", help="The version you review (default: the newest the marketplace shows)")] = None,
    as_json: Json = False,
) -> None:
    """Review NAME: a statement signed with your key, accepted from accounts that bought or installed it."""
    if len(text) > 2000:
        raise usage(f"--text is {len(text)} characters long; at most 2000")
    account = load_key(key)

    async def job(nc: Client) -> tuple[ReviewRequest, ReviewReply]:
        from eth_account.messages import encode_defunct

        chosen = version
        if chosen is None:
            shown = await call(nc, rpc("show"), request(MarketShowRequest, name=name), MarketShowReply, timeout=QUERY_TIMEOUT_S)
            if not shown.releases:
                raise CliError(f"the marketplace shows no release of {name}: give --version", code="not_found")
            chosen = newest_version(shown)
        chain = await call(nc, rpc("chain"), ChainRequest(), ChainReply, timeout=QUERY_TIMEOUT_S)
        issued_at = now_iso()
        message = review_message(name, chosen, stars, text, account.address, issued_at, chain.chain_id, chain.shop)
        signature = "0x" + bytes(account.sign_message(encode_defunct(text=message)).signature).hex()
        body = request(ReviewRequest, name=name, version=chosen, stars=stars, text=text, account=account.address, issued_at=issued_at, signature=signature)
        try:
            reply = await call(nc, rpc("review"), body, ReviewReply, timeout=QUERY_TIMEOUT_S)
        except RpcError as error:
            raise rpc_failure(f"the review of {name} {chosen} was refused", error) from None
        return body, reply

    body, reply = with_nats(job)
    if not reply.accepted:
        raise CliError(f"the review of {name} {body.version} was not accepted", code="refused")
    if as_json:
        print_json({"name": name, "version": body.version, "account": body.account, "stars": stars, "issued_at": body.issued_at, **reply.model_dump()})
    else:
        how = "replaced your earlier review" if reply.replaced else "accepted"
        console.print(f"review of {name} {body.version} {how} (verified by {reply.verified_by})", markup=False, highlight=False)


@app.command("faucet")
def faucet(
    key: KeyOption,
    amount: Annotated[str, typer.Option("--amount", help="How much, with a unit")] = DEFAULT_FAUCET_AMOUNT,
    as_json: Json = False,
) -> None:
    """Fund your key's account with test ether: on the local development chain only."""
    amount_wei = amount_option("--amount", amount)
    account = load_key(key)
    reply = market_call("faucet", request(FaucetRequest, account=account.address, amount_wei=str(amount_wei)), FaucetReply, timeout=FAUCET_TIMEOUT_S)
    if as_json:
        print_json({**reply.model_dump(), "amount_wei": str(amount_wei)})
    else:
        console.print(f"sent {format_wei(amount_wei)} to {reply.account}: its balance is {format_wei(reply.balance_wei)}", markup=False, highlight=False)


# `plugyard market car NAME==VERSION --out FILE`: a version's archive as a CAR (commands/car.py).
from plugyard_cli.commands.car import car as _car  # noqa: E402

app.command("car")(_car)
