"""The network namespace: a server on the host's loopback is out of reach, and only `lo` exists."""

from __future__ import annotations

import errno
import socket

from .conftest import denied


def test_host_loopback_and_outside_are_unreachable(make_spec, run_sandboxed) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        server.setblocking(False)
        port = server.getsockname()[1]
        code = """
import socket
def connect(address):
    with socket.create_connection(address, timeout=5):
        return "connected"
attempt("host_loopback", lambda: connect(("127.0.0.1", args["port"])))
attempt("outside", lambda: connect(("192.0.2.1", 80)))
attempt("interfaces", lambda: [name for _, name in socket.if_nameindex()])
def own_loopback():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        with socket.create_connection(listener.getsockname(), timeout=5):
            return True
attempt("own_loopback", own_loopback)
"""
        out = run_sandboxed(make_spec(), code, {"port": port})
        try:
            server.accept()
            reached = True
        except BlockingIOError:
            reached = False
    assert out["layers"]["network"] == "active"
    assert denied(out["host_loopback"], errno.ECONNREFUSED)
    assert denied(out["outside"], errno.ENETUNREACH)
    assert out["interfaces"] == {"ok": ["lo"]}
    assert out["own_loopback"] == {"ok": True}
    assert not reached
