"""The egress proxy counts the bytes it relays for each worker: the session of the process on its socket (a
worker starts its own session, so its pid), what went upstream apart from what came back."""

from __future__ import annotations

import asyncio
import os

from .helpers import exchange
from .test_egress_proxy import open_tunnel

ME = os.getsid(0)  # this test process is the "worker" on the proxy's socket


async def idle(proxy) -> None:
    for _ in range(100):
        if not proxy.active:
            return
        await asyncio.sleep(0.02)


async def test_a_tunnel_counts_both_directions_and_not_the_proxys_own_words(make_proxy, echo):
    target = f"127.0.0.1:{echo.port}"
    proxy = await make_proxy([target])
    assert proxy.traffic(ME) is None
    reader, writer, _ = await open_tunnel(proxy, target)
    assert await reader.readexactly(6) == b"hello\n"
    writer.write(b"x" * 100_000)
    assert await reader.readexactly(100_000) == b"x" * 100_000
    writer.write_eof()
    assert await asyncio.wait_for(reader.read(), 5) == b"bye\n"
    writer.close()
    await idle(proxy)
    assert proxy.traffic(ME) == (100_000, 6 + 100_000 + 4)

    second, writer, _ = await open_tunnel(proxy, target)  # counts add up over connections
    await second.readexactly(6)
    writer.write_eof()
    await asyncio.wait_for(second.read(), 5)
    writer.close()
    await idle(proxy)
    assert proxy.traffic(ME) == (100_000, 2 * (6 + 4) + 100_000)
    assert proxy.traffic(ME + 1_000_000) is None


async def test_plain_http_counts_the_request_sent_upstream_and_the_answer(make_proxy, web):
    proxy = await make_proxy([f"127.0.0.1:{web.port}"])
    answer = await exchange(proxy.socket_path, f"POST http://127.0.0.1:{web.port}/x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello".encode())
    await idle(proxy)
    [seen] = web.requests
    assert proxy.traffic(ME) == (len(seen.encode()), len(answer))


async def test_refused_requests_count_nothing(make_proxy, echo):
    proxy = await make_proxy([f"127.0.0.1:{echo.port}"])
    answer = await exchange(proxy.socket_path, b"CONNECT example.com:443 HTTP/1.1\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 403")
    await idle(proxy)
    assert proxy.traffic(ME) is None
