"""PY-CRYPTOMINER: code (or a bundled file) that mines cryptocurrency on the user's machine: launches a known
miner (xmrig, cpuminer, ...), points one at a pool (stratum+tcp://, known pool hosts, --donate-level), or
speaks the stratum protocol itself.

A miner's name alone is not enough (a security plugin may list miners to stop), nor is a pool URL alone
(a dashboard may show one): the rule needs the launch or the connection.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from plugyard_analysis.rulebook import Hit, RuleInfo, file_rule, python_rule
from plugyard_analysis.rules._text_util import PROCESS_CALLS, is_network_call, process_calls, show
from plugyard_analysis.sources import PluginFile, SourceFile

CRYPTOMINER = RuleInfo(
    "PY-CRYPTOMINER",
    "behaviour",
    "critical",
    "Code mines cryptocurrency: it launches a miner, points one at a mining pool or speaks the stratum protocol",
    cwe=506,
)

MINER_NAME = re.compile(
    r"(?<![\w-])(xmrig(-cuda|-nvidia|-amd)?|xmr-stak(-rx|-cpu)?|cpuminer(-multi|-opt)?|minerd|ethminer|nbminer|phoenixminer|"
    r"lolminer|gminer|teamredminer|srbminer(-multi)?|nanominer|ccminer|cgminer|bfgminer|wildrig(-multi)?|nicehashminer|"
    r"xmrigdaemon|t-rex|bminer|cryptodredge|z-enemy)(\.exe)?(?![\w-])",
    re.I,
)
STRATUM_URL = re.compile(r"\bstratum\d?\+(tcp|ssl|tls|udp)://", re.I)
POOL_HOST = re.compile(
    r"(?<![\w-])(nanopool\.org|moneroocean\.stream|supportxmr\.com|minexmr\.com|xmrpool\.eu|hashvault\.pro|"
    r"c3pool\.(?:com|org)|2miners\.com|f2pool\.com|ethermine\.org|nicehash\.com|minergate\.com|herominers\.com|unmineable\.com|"
    r"viabtc\.(?:com|top)|antpool\.com|slushpool\.com|poolin\.com|zpool\.ca|prohashing\.com|mining-dutch\.nl|dwarfpool\.com|"
    r"miningpoolhub\.com|flexpool\.io|hiveon\.net|kryptex\.network|woolypooly\.com|monerohash\.com|xmrfast\.com|"
    r"p2pool\.io|gntl\.uk|xmrpool\.net|minergate\.net|coinhive\.com|crypto-loot\.com)(?![\w-])",
    re.I,
)
# "pool.something.tld:3333": a host named like a pool with a usual stratum port
POOL_WITH_PORT = re.compile(r"(?<![/\w.-])(?:[\w-]+\.)?(?:pool|xmr|mining)[\w-]*\.[\w.-]+:(3333|3334|4444|5555|7777|1[0-9]{4}|20535|45560|45700)\b", re.I)
# one search over all of a module's strings (lower-cased, joined) before the per-string patterns
PREFILTER = re.compile(
    r"stratum|mining\.|donate|xmr|cpu-max|randomx|rx/0|cryptonight|ethash|--algo|--coin|coinhive|crypto-loot|minergate|nicehash|"
    r"nanopool|moneroocean|supportxmr|hashvault|c3pool|2miners|f2pool|ethermine|herominers|unmineable|viabtc|antpool|slushpool|"
    r"poolin\.|zpool|prohashing|mining-dutch|dwarfpool|miningpoolhub|flexpool|hiveon|kryptex|woolypooly|monerohash|p2pool|gntl\.uk|"
    r"pool[\w-]*\.[\w.-]+:\d"
)
MINER_ARGUMENT = re.compile(r"--donate-level|--cpu-max-threads-hint|--max-cpu-usage|--randomx-|\brx/0\b|\bcryptonight\b|--coin[= ](xmr|monero|etc|rvn)|\bethash\b|--algo[= ](rx|cn|kawpow|ethash|randomx)", re.I)
STRATUM_METHOD = re.compile(r"^mining\.(subscribe|authorize|submit|notify|set_difficulty|extranonce\.subscribe)$")
MONERO_WALLET = re.compile(r"(?<![0-9A-Za-z])4[0-9AB][1-9A-HJ-NP-Za-km-z]{93}(?![0-9A-Za-z])")
KILL_COMMAND = re.compile(r"^\s*(\S*/)?(pkill|kill|killall|taskkill|pgrep|pidof|ps|tasklist)(\.exe)?\b", re.I)


def _pool_in(text: str) -> str | None:
    """A stratum URL or a pool's host, not counting web addresses (a pool's web API or site is not mining)."""
    match = STRATUM_URL.search(text)
    if match:
        return match.group(0)
    for pattern in (POOL_HOST, POOL_WITH_PORT):
        for match in pattern.finditer(text):
            word = re.split(r"[\s'\"=,;(\[{]", text[: match.start()])[-1]
            if not re.match(r"(?i)(https?|wss?)://", word):
                return match.group(0)
    return None


@python_rule(CRYPTOMINER)
def check_miner(src: SourceFile) -> Iterator[Hit]:
    index = src.index
    launched = False
    for call, command in process_calls(index):
        if KILL_COMMAND.search(command):
            continue
        miner = MINER_NAME.search(command)
        pool = _pool_in(command)
        argument = MINER_ARGUMENT.search(command)
        if miner or pool or argument:
            what = miner.group(0) if miner else pool if pool else argument.group(0)  # type: ignore[union-attr]
            launched = True
            yield Hit(f"starts a miner ({what}): {show(command)}", node=call.node)
    if launched:
        return

    if not PREFILTER.search("\n".join(s.value[:2000] for s in index.strings).lower()):
        return
    relevant = [s for s in index.strings if len(s.value) < 2000 and PREFILTER.search(s.value.lower())]
    pools = [(s, found) for s in relevant if (found := _pool_in(s.value))]
    methods = [s for s in relevant if STRATUM_METHOD.match(s.value)]
    miner_args = [s for s in relevant if MINER_ARGUMENT.search(s.value)]
    if not (pools or methods or miner_args):
        return
    wallets = [s for s in index.strings if 90 <= len(s.value) < 2000 and MONERO_WALLET.search(s.value)]
    networked = any(is_network_call(c.name) for c in index.calls)
    starts_processes = any(c.name in PROCESS_CALLS for c in index.calls)

    if methods and networked and (len({s.value for s in methods}) >= 2 or pools):
        yield Hit(f"speaks the stratum mining protocol ({methods[0].value}) over a network connection", node=methods[0].node)
        return
    if pools:
        string, pool = pools[0]
        if starts_processes or networked or miner_args or wallets:
            yield Hit(f"connects to a mining pool ({pool})", node=string.node)
        else:
            yield Hit(f"names a mining pool ({pool}) but nothing here connects to it", node=string.node, severity="low")
        return
    if miner_args and (wallets or starts_processes):
        yield Hit(f"passes miner arguments ({miner_args[0].value[:60]})", node=miner_args[0].node)


BINARY_MARKS = (b"donate.v2.xmrig.com", b"donate.ssl.xmrig.com", b"xmrig.com/benchmark", b"XMRig/%s", b"cpuminer-opt", b"ethminer.org")
BINARY_POOL = (b"stratum+tcp://", b"stratum+ssl://", b"stratum+tls://")
BINARY_MINER = (b"xmrig", b"XMRig", b"cpuminer", b"ethminer", b"RandomX", b"randomx")


@file_rule(CRYPTOMINER)
def check_miner_file(file: PluginFile) -> Iterator[Hit]:
    if file.is_python:
        return
    name = file.name.lower()
    if MINER_NAME.fullmatch(name) or MINER_NAME.fullmatch(name.rsplit(".", 1)[0]):
        if file.is_binary or file.data.startswith(b"#!"):
            yield Hit(f"bundles a miner program ({file.name})", line=None)
            return
    if file.is_binary:
        data = file.data
        if any(mark in data for mark in BINARY_MARKS) or (any(p in data for p in BINARY_POOL) and any(m in data for m in BINARY_MINER)):
            yield Hit("bundles a binary that is a cryptocurrency miner")
        return
    text = file.text or ""
    if "stratum" not in text.lower() and "donate-level" not in text:
        return
    if "donate-level" in text and re.search(r'"pools"\s*:', text):
        yield Hit("bundles an xmrig miner configuration (pools, donate-level)", line=_line_of(text, "donate-level"))
        return
    match = STRATUM_URL.search(text)
    if match and (MINER_NAME.search(text) or MINER_ARGUMENT.search(text) or MONERO_WALLET.search(text)):
        yield Hit("bundles a miner configuration naming a stratum pool", line=text.count("\n", 0, match.start()) + 1)


def _line_of(text: str, needle: str) -> int | None:
    at = text.find(needle)
    return text.count("\n", 0, at) + 1 if at >= 0 else None
