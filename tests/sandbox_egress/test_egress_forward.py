"""The worker-side forwarder and create_connection shim, in this process (the namespace test is test_egress_boundary.py)."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading

import pytest

from plugyard_sandbox import egress_forward
from plugyard_sandbox.egress_forward import PROXY_VARIABLES, normalize_target, parse_target
from plugyard_sandbox.egress_proxy import NOT_DECLARED


@pytest.mark.parametrize(
    "text, expected",
    [
        ("api.example.com:443", ("api.example.com", 443)),
        ("API.Example.COM.:443", ("api.example.com", 443)),
        ("Bücher.example:80", ("xn--bcher-kva.example", 80)),
        ("127.0.0.1:8080", ("127.0.0.1", 8080)),
        ("[::1]:53", ("::1", 53)),
        ("[0:0:0:0:0:0:0:1]:53", ("::1", 53)),
    ],
)
def test_parse_target(text, expected):
    assert parse_target(text) == expected


def test_targets_format_back_canonically():
    assert normalize_target("[0::1]:443") == "[::1]:443"
    assert parse_target("example.com", default_port=80) == ("example.com", 80)


@pytest.mark.parametrize("text", ["example.com", "example.com:", "example.com:0", "example.com:65536", "example.com:٨٠", "::1:80", "[::1]", "[::1]x:1", "[1.2.3.4]:80", "a b:80", ":80", "a/b:80"])
def test_parse_target_rejects(text):
    with pytest.raises(ValueError):
        parse_target(text)


def test_import_is_cheap():
    code = "import sys; import plugyard_sandbox.egress_forward; print(sorted({'asyncio', 'ssl', 'urllib.request', 'http.client'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.fixture
def isolated_forwarder(monkeypatch):
    """egress_forward.start changes process-wide state; put it back after the test."""
    for name in (*PROXY_VARIABLES, "NO_PROXY", "no_proxy"):
        # setenv first: a variable that was absent is only restored (removed again) if monkeypatch saw it absent
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    monkeypatch.setattr(socket, "create_connection", socket.create_connection)
    monkeypatch.setattr(egress_forward, "_state", {"port": None, "declared": frozenset()})


def roundtrip(address: tuple[str, int], payload: bytes) -> bytes:
    """Through the shim: send `payload` while reading everything the echo upstream sends back."""
    conn = socket.create_connection(address, timeout=10)
    received = bytearray()

    def read() -> None:
        while chunk := conn.recv(1 << 16):
            received.extend(chunk)

    reader = threading.Thread(target=read)
    reader.start()
    conn.sendall(payload)
    conn.shutdown(socket.SHUT_WR)
    reader.join(20)
    conn.close()
    return bytes(received)


async def test_forwarder_relays_large_payloads_and_sets_proxy_env(isolated_forwarder, make_proxy, echo):
    target = f"127.0.0.1:{echo.port}"
    proxy = await make_proxy([target])
    port = egress_forward.start(proxy.socket_path, [target])
    assert all(os.environ[name] == f"http://127.0.0.1:{port}" for name in PROXY_VARIABLES)
    assert os.environ["NO_PROXY"] == os.environ["no_proxy"] == ""

    payload = os.urandom(4 << 20)
    results = await asyncio.gather(*(asyncio.to_thread(roundtrip, ("127.0.0.1", echo.port), payload) for _ in range(3)))
    assert all(result == b"hello\n" + payload + b"bye\n" for result in results)
    assert proxy.record.allowed == [target] * 3


async def test_shim_leaves_undeclared_addresses_alone(isolated_forwarder, make_proxy, echo):
    proxy = await make_proxy([])
    egress_forward.start(proxy.socket_path, [])
    answer = await asyncio.to_thread(roundtrip, ("127.0.0.1", echo.port), b"direct")
    assert answer == b"hello\ndirectbye\n" and proxy.connections == 0


async def test_shim_reports_a_refusal_as_connection_refused(isolated_forwarder, make_proxy, echo):
    proxy = await make_proxy([])  # the worker claims a target the host never allowed
    egress_forward.start(proxy.socket_path, [f"127.0.0.1:{echo.port}"])
    with pytest.raises(ConnectionRefusedError, match=NOT_DECLARED.replace("[", r"\[").replace("]", r"\]")):
        await asyncio.to_thread(socket.create_connection, ("127.0.0.1", echo.port), 5)
    assert proxy.record.denied == [(f"127.0.0.1:{echo.port}", NOT_DECLARED)]
