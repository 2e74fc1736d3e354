"""The whole boundary: a child in a fresh network namespace whose only way out is the egress proxy's Unix socket."""

from __future__ import annotations

import asyncio
import errno
import json
import sys

import pytest

from plugyard_sandbox.egress_proxy import NOT_DECLARED

CHILD = r"""
import ctypes, fcntl, json, os, socket, struct, sys, urllib.request

sock_path, up_port = sys.argv[1], int(sys.argv[2])
libc = ctypes.CDLL(None, use_errno=True)
if libc.unshare(0x40000000) != 0:  # CLONE_NEWNET
    print(json.dumps({"unshare_errno": ctypes.get_errno()}))
    sys.exit(0)

# A new namespace's loopback starts down: SIOCGIFFLAGS, then SIOCSIFFLAGS with IFF_UP | IFF_RUNNING.
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
    flags = struct.unpack("16sH22x", fcntl.ioctl(s, 0x8913, struct.pack("16sH22x", b"lo", 0)))[1]
    fcntl.ioctl(s, 0x8914, struct.pack("16sH22x", b"lo", flags | 0x1 | 0x40))

from plugyard_sandbox import egress_forward

port = egress_forward.start(sock_path, [f"127.0.0.1:{up_port}"])
results = {"interfaces": [name for _, name in socket.if_nameindex()], "proxy_env": os.environ["HTTPS_PROXY"], "port": port}


def attempt(name, action):
    try:
        results[name] = {"ok": action()}
    except Exception as exc:
        results[name] = {"error": type(exc).__name__, "errno": getattr(exc, "errno", None), "message": str(exc)}


def read_all(conn):
    data = b""
    while chunk := conn.recv(65536):
        data += chunk
    conn.close()
    return data.decode("latin-1")


def via_urllib():
    with urllib.request.urlopen(f"http://127.0.0.1:{up_port}/via-urllib", timeout=10) as response:
        return response.read().decode()


def via_shim():
    conn = socket.create_connection(("127.0.0.1", up_port), timeout=10)
    peer = conn.getpeername()
    conn.sendall(b"GET /via-shim HTTP/1.1\r\nHost: x\r\n\r\n")
    return {"peer": list(peer), "answer": read_all(conn)}


def raw_connect(address):
    conn = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    conn.settimeout(5)
    conn.connect(address)
    return read_all(conn)


def undeclared_connect():
    conn = socket.create_connection(("127.0.0.1", port), timeout=10)
    conn.sendall(b"CONNECT example.net:443 HTTP/1.1\r\nHost: example.net:443\r\n\r\n")
    return read_all(conn)


attempt("urllib", via_urllib)
attempt("shim", via_shim)
attempt("raw_loopback", lambda: raw_connect(("127.0.0.1", up_port)))
attempt("raw_outside", lambda: raw_connect(("192.0.2.1", 80)))
attempt("undeclared", undeclared_connect)
print(json.dumps(results))
"""


async def test_namespace_reaches_only_declared_targets_through_the_proxy(tmp_path, make_proxy, web):
    proxy = await make_proxy([f"127.0.0.1:{web.port}"])
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    child = await asyncio.create_subprocess_exec(
        sys.executable, str(script), proxy.socket_path, str(web.port), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    stdout, stderr = await asyncio.wait_for(child.communicate(), 60)
    assert child.returncode == 0, stderr.decode()
    results = json.loads(stdout)
    if results.get("unshare_errno") == errno.EPERM:
        pytest.skip("creating a network namespace needs CAP_SYS_ADMIN")

    assert results["interfaces"] == ["lo"]
    assert results["proxy_env"] == f"http://127.0.0.1:{results['port']}"
    # (1) an ordinary client, through the proxy variables
    assert results["urllib"] == {"ok": "upstream saw GET /via-urllib HTTP/1.1"}, results["urllib"]
    # (2) plain socket code, through the create_connection shim: the socket is really connected to the forwarder
    shim = results["shim"]["ok"]
    assert shim["peer"] == ["127.0.0.1", results["port"]]
    assert shim["answer"].endswith("upstream saw GET /via-shim HTTP/1.1")
    # (3) without the forwarder there is no way out: 127.0.0.1 is the namespace's own loopback, nothing else routes
    assert results["raw_loopback"]["error"] == "ConnectionRefusedError"
    assert results["raw_outside"]["errno"] == errno.ENETUNREACH, results["raw_outside"]
    # (4) the forwarder is only plumbing: the host proxy refuses what was not declared
    assert results["undeclared"]["ok"].startswith("HTTP/1.1 403 Forbidden\r\n")
    assert NOT_DECLARED in results["undeclared"]["ok"]
    assert proxy.record.denied == [("example.net:443", NOT_DECLARED)]

    assert [request.split("\r\n")[0] for request in web.requests] == ["GET /via-urllib HTTP/1.1", "GET /via-shim HTTP/1.1"]
    assert web.connections == 2
