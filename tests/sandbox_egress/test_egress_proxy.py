"""The host-side egress proxy end to end: real upstreams on 127.0.0.1, clients on its Unix socket."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import stat

import pytest

from plugyard_sandbox.egress_proxy import NOT_DECLARED, EgressProxy

from .helpers import exchange


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


async def open_tunnel(proxy: EgressProxy, target: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bytes]:
    reader, writer = await asyncio.open_unix_connection(proxy.socket_path)
    writer.write(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
    return reader, writer, await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)


def test_allowlist_is_normalised(tmp_path):
    proxy = EgressProxy(str(tmp_path / "s"), ["API.Example.COM.:443", "bücher.example:80", "[0:0::1]:8080", "127.0.0.1:22"])
    assert proxy.allowed == {"api.example.com:443", "xn--bcher-kva.example:80", "[::1]:8080", "127.0.0.1:22"}


@pytest.mark.parametrize("entry", ["example.com", "example.com:0", "example.com:70000", "::1:80", "exa mple.com:80", "http://example.com:80", "a..b:80", "[example.com]:80"])
def test_malformed_allowlist_entry_is_rejected(tmp_path, entry):
    with pytest.raises(ValueError):
        EgressProxy(str(tmp_path / "s"), [entry])


async def test_start_creates_parent_world_connectable_socket_and_close_removes_it(tmp_path):
    path = tmp_path / "run" / "plugin" / "egress.sock"
    path.parent.mkdir(parents=True)
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))  # left behind by a crashed host
    stale.close()
    path = str(path)
    proxy = EgressProxy(path, [])
    await proxy.start()
    assert stat.S_ISSOCK(os.stat(path).st_mode) and stat.S_IMODE(os.stat(path).st_mode) == 0o666
    await proxy.close()
    assert not os.path.exists(path)

    fresh = EgressProxy(str(tmp_path / "new" / "dir" / "egress.sock"), [])
    await fresh.start()
    assert os.path.exists(fresh.socket_path)
    await fresh.close()


async def test_connect_tunnel_relays_both_ways_and_half_close(make_proxy, echo):
    target = f"127.0.0.1:{echo.port}"
    proxy = await make_proxy([target])
    reader, writer, head = await open_tunnel(proxy, target)
    assert head == b"HTTP/1.1 200 Connection established\r\n\r\n"
    assert await reader.readexactly(6) == b"hello\n"  # the upstream speaks first
    writer.write(b"ping")
    assert await reader.readexactly(4) == b"ping"
    writer.write_eof()  # the client is done sending; the answer still comes back
    assert await asyncio.wait_for(reader.read(), 5) == b"bye\n"
    writer.close()
    assert proxy.record.allowed == [target] and proxy.record.denied == [] and proxy.denied_count == 0


@pytest.mark.parametrize("requested, target", [("example.com:443", "example.com:443"), ("Example.COM.:443", "example.com:443"), ("localhost:{port}", "localhost:{port}"), ("127.0.0.1:1", "127.0.0.1:1")])
async def test_undeclared_target_is_forbidden(make_proxy, echo, requested, target):
    requested, target = requested.format(port=echo.port), target.format(port=echo.port)
    proxy = await make_proxy([f"127.0.0.1:{echo.port}"])
    answer = await exchange(proxy.socket_path, f"CONNECT {requested} HTTP/1.1\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 403 Forbidden\r\n")
    body = answer.split(b"\r\n\r\n", 1)[1].decode()
    assert body.count("\n") == 1 and target in body and NOT_DECLARED in body
    assert proxy.record.denied == [(target, NOT_DECLARED)] and proxy.denied_count == 1
    assert echo.connections == 0


async def test_absolute_form_get_is_forwarded_in_origin_form(make_proxy, web):
    proxy = await make_proxy([f"127.0.0.1:{web.port}"])
    request = (
        f"GET http://127.0.0.1:{web.port}/path?q=1#frag HTTP/1.1\r\n"
        "Host: elsewhere.example\r\nProxy-Connection: keep-alive\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nX-Test: yes\r\n\r\n"
    )
    answer = await exchange(proxy.socket_path, request.encode())
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and answer.endswith(b"upstream saw GET /path?q=1 HTTP/1.1")
    [seen] = web.requests
    assert seen.split("\r\n")[:4] == ["GET /path?q=1 HTTP/1.1", f"Host: 127.0.0.1:{web.port}", "X-Test: yes", "Connection: close"]
    assert "Proxy-Connection" not in seen and "X-Hop" not in seen
    assert proxy.record.allowed == [f"127.0.0.1:{web.port}"]


async def test_absolute_form_post_body_reaches_upstream(make_proxy, web):
    proxy = await make_proxy([f"127.0.0.1:{web.port}"])
    answer = await exchange(proxy.socket_path, f"POST http://127.0.0.1:{web.port}?x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello".encode())
    assert status_of(answer) == 200
    assert web.requests[0].startswith("POST /?x HTTP/1.1\r\n") and web.requests[0].endswith("\r\n\r\nhello")


async def test_absolute_form_get_to_undeclared_host_is_forbidden(make_proxy, web):
    proxy = await make_proxy([f"127.0.0.1:{web.port}"])
    answer = await exchange(proxy.socket_path, b"GET http://example.org/ HTTP/1.1\r\nHost: example.org\r\n\r\n")
    assert status_of(answer) == 403 and b"example.org:80" in answer
    assert proxy.record.denied == [("example.org:80", NOT_DECLARED)]


BAD_REQUESTS = {
    "garbage": b"hello\r\n\r\n",
    "binary": b"\x00\xff\xfe" * 20 + b"\r\n\r\n",
    "origin form": b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    "https absolute form": b"GET https://example.com/ HTTP/1.1\r\n\r\n",
    "connect without port": b"CONNECT example.com HTTP/1.1\r\n\r\n",
    "connect bad host": b"CONNECT exa_mple..com:443 HTTP/1.1\r\n\r\n",
    "bad version": b"CONNECT example.com:443 HTTP/2.0\r\n\r\n",
    "bad header": b"CONNECT example.com:443 HTTP/1.1\r\nno colon here\r\n\r\n",
    "folded header": b"CONNECT example.com:443 HTTP/1.1\r\nX: a\r\n b\r\n\r\n",
    "credentials": b"GET http://user:pw@example.com/ HTTP/1.1\r\n\r\n",
    "oversize header": b"GET http://example.com/ HTTP/1.1\r\nX-Pad: " + b"a" * 9000 + b"\r\n\r\n",
    "endless header": b"GET http://example.com/ HTTP/1.1\r\nX-Pad: " + b"a" * 100_000,
    "incomplete": b"CONNECT example.com:4",
}


@pytest.mark.parametrize("payload", BAD_REQUESTS.values(), ids=BAD_REQUESTS.keys())
async def test_bad_request_gets_400_and_the_proxy_keeps_serving(make_proxy, echo, payload, caplog):
    target = f"127.0.0.1:{echo.port}"
    proxy = await make_proxy([target])
    reader, writer = await asyncio.open_unix_connection(proxy.socket_path)
    writer.write(payload)
    if payload == BAD_REQUESTS["incomplete"]:
        writer.write_eof()
    answer = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    assert status_of(answer) == 400
    assert proxy.denied_count == 0 and echo.connections == 0

    _, next_writer, head = await open_tunnel(proxy, target)
    assert head.startswith(b"HTTP/1.1 200 ")
    next_writer.close()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_client_leaving_without_a_word_is_fine(make_proxy, echo):
    proxy = await make_proxy([f"127.0.0.1:{echo.port}"])
    _, writer = await asyncio.open_unix_connection(proxy.socket_path)
    writer.close()
    await asyncio.sleep(0.05)
    assert proxy.active == 0
    assert (await open_tunnel(proxy, f"127.0.0.1:{echo.port}"))[2].startswith(b"HTTP/1.1 200 ")


def resolving_to(*addresses: str):
    async def resolver(host: str, port: int) -> list[str]:
        return list(addresses)

    return resolver


@pytest.mark.parametrize(
    "addresses",
    [("127.0.0.1",), ("::1",), ("10.1.2.3",), ("192.168.0.7",), ("169.254.169.254",), ("0.0.0.0",), ("::ffff:127.0.0.1",), ("fd00::1",), ("93.184.216.34", "172.16.0.1")],
)
async def test_declared_name_resolving_to_an_internal_address_is_refused(make_proxy, echo, addresses):
    name_target, literal_target = f"api.example.com:{echo.port}", f"127.0.0.1:{echo.port}"
    proxy = await make_proxy([name_target, literal_target], resolver=resolving_to(*addresses))

    answer = await exchange(proxy.socket_path, f"CONNECT {name_target} HTTP/1.1\r\n\r\n".encode())
    assert status_of(answer) == 403 and b"resolves to internal address" in answer
    [(target, reason)] = proxy.record.denied
    assert target == name_target and "internal address" in reason
    assert echo.connections == 0

    # The same upstream declared literally is reachable: that is an explicit choice, not a rebinding.
    assert (await open_tunnel(proxy, literal_target))[2].startswith(b"HTTP/1.1 200 ")


async def test_declared_name_resolving_to_a_public_address_passes_the_guard(make_proxy):
    # 192.0.2.0/24 counts as internal (documentation range), so use a real public address; whether it answers
    # here does not matter, only that the proxy tries it instead of refusing.
    proxy = await make_proxy(["api.example.com:443"], resolver=resolving_to("93.184.216.34"), connect_timeout=0.5)
    _, writer, head = await open_tunnel(proxy, "api.example.com:443")
    writer.close()
    assert status_of(head) != 403 and proxy.denied_count == 0


async def test_resolver_failure_is_a_bad_gateway(make_proxy):
    async def broken(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    proxy = await make_proxy(["api.example.com:443"], resolver=broken)
    answer = await exchange(proxy.socket_path, b"CONNECT api.example.com:443 HTTP/1.1\r\n\r\n")
    assert status_of(answer) == 502 and proxy.denied_count == 0


async def test_unreachable_declared_upstream_is_a_bad_gateway(make_proxy, echo):
    port = echo.port
    await echo.close()
    await asyncio.sleep(0.05)
    proxy = await make_proxy([f"127.0.0.1:{port}"])
    assert status_of(await exchange(proxy.socket_path, f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n".encode())) == 502


async def test_connection_limit(make_proxy, echo):
    target = f"127.0.0.1:{echo.port}"
    proxy = await make_proxy([target], max_connections=1)
    _, first, _ = await open_tunnel(proxy, target)
    answer = await exchange(proxy.socket_path, f"CONNECT {target} HTTP/1.1\r\n\r\n".encode())
    assert status_of(answer) == 503
    first.close()
    for _ in range(100):
        if proxy.active == 0:
            break
        await asyncio.sleep(0.02)
    assert (await open_tunnel(proxy, target))[2].startswith(b"HTTP/1.1 200 ")


async def test_idle_timeouts(make_proxy, echo):
    target = f"127.0.0.1:{echo.port}"
    proxy = await make_proxy([target], idle_timeout=0.3)
    reader, writer = await asyncio.open_unix_connection(proxy.socket_path)  # says nothing
    assert status_of(await asyncio.wait_for(reader.read(), 5)) == 408
    writer.close()

    reader, writer, _ = await open_tunnel(proxy, target)
    assert await reader.readexactly(6) == b"hello\n"
    assert await asyncio.wait_for(reader.read(), 5) == b""  # idle tunnel closed
    writer.close()


async def test_close_ends_open_tunnels(make_proxy, echo):
    target = f"127.0.0.1:{echo.port}"
    proxy = await make_proxy([target])
    reader, writer, _ = await open_tunnel(proxy, target)
    assert await reader.readexactly(6) == b"hello\n"
    await asyncio.wait_for(proxy.close(), 5)
    try:
        assert await asyncio.wait_for(reader.read(), 5) == b""
    except ConnectionResetError:
        pass
    writer.close()
    assert proxy.active == 0 and not os.path.exists(proxy.socket_path)
