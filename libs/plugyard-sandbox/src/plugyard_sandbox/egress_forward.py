"""Worker side of the egress path: plumbing from the worker's empty network namespace to the host proxy.

The worker's namespace has only loopback; its one way out is the host-side egress proxy's Unix socket
(pathname Unix sockets work across network namespaces). `start` listens on 127.0.0.1 inside the
namespace, relays every connection to that socket and points the usual proxy variables at itself, so
ordinary HTTP clients work. It enforces nothing: a plugin bypassing it reaches the same proxy, which
is the boundary (see egress_proxy.py).

Stdlib only and cheap to import: it runs inside the sandbox. It also holds the "host:port" parsing
both sides use, so the shim here and the proxy agree on what a declared target is.
"""

from __future__ import annotations

import ipaddress
import os
import re
import selectors
import socket
import threading
import time
from collections.abc import Sequence

_CHUNK = 1 << 16
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_HOSTNAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_PORT = re.compile(r"[0-9]{1,5}")
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy")


# --- "host:port" targets -------------------------------------------------------------------------


def normalize_host(host: str) -> str:
    """A host in canonical form: IP literals as `ipaddress` prints them, names lowercased, IDNA-encoded, without a trailing dot."""
    literal = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        return str(ipaddress.ip_address(literal))
    except ValueError:
        pass
    name = host.lower().removesuffix(".")
    try:
        name = name.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise ValueError(f"invalid host name {host!r}") from exc
    if len(name) > 253 or not _HOSTNAME.fullmatch(name):
        raise ValueError(f"invalid host name {host!r}")
    return name


def parse_target(text: str, default_port: int | None = None) -> tuple[str, int]:
    """Split "host:port" (IPv6 as "[addr]:port") into a normalized host and a port; ValueError when malformed."""
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError(f"malformed target {text!r}")
        port_text = rest[1:] if rest else None
        if ":" not in host:
            raise ValueError(f"only IPv6 literals go in brackets: {text!r}")
    elif ":" in text:
        host, _, port_text = text.rpartition(":")
        if ":" in host:
            raise ValueError(f"IPv6 literals need brackets: {text!r}")
    else:
        host, port_text = text, None
    if port_text is None:
        if default_port is None:
            raise ValueError(f"target {text!r} has no port")
        port = default_port
    elif _PORT.fullmatch(port_text) and 0 < int(port_text) < 65536:
        port = int(port_text)
    else:
        raise ValueError(f"invalid port in {text!r}")
    return normalize_host(host), port


def format_target(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def normalize_target(text: str) -> str:
    """The canonical "host:port" the allowlist is matched on."""
    return format_target(*parse_target(text))


# --- the forwarder -------------------------------------------------------------------------------


class _End:
    """One socket of a relayed pair; `outbox` holds bytes read from the peer not yet sent to this socket."""

    __slots__ = ("sock", "peer", "outbox", "eof", "events", "closed")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.peer: _End = self
        self.outbox = b""
        self.eof = False  # this socket's reading side has ended
        self.events = 0
        self.closed = False


class _Forwarder:
    """One thread, one selector, every connection: threads count against the worker's RLIMIT_NPROC."""

    def __init__(self, listener: socket.socket, socket_path: str) -> None:
        self.listener = listener
        self.socket_path = socket_path
        self.selector = selectors.DefaultSelector()
        self.selector.register(listener, selectors.EVENT_READ, None)

    def run(self) -> None:
        while True:
            for key, mask in self.selector.select():
                if key.data is None:
                    self._accept()
                    continue
                end: _End = key.data
                if end.closed:
                    continue
                try:
                    if mask & selectors.EVENT_WRITE:
                        self._flush(end)
                    if mask & selectors.EVENT_READ:
                        self._pull(end)
                    self._settle(end)
                except Exception:  # a reset, a vanished proxy: drop this pair, keep serving the others
                    self._close(end)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # e.g. EMFILE: leave the connection in the backlog, don't spin on it
                time.sleep(0.1)
                return
            try:
                upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            except OSError:
                client.close()
                continue
            try:
                upstream.settimeout(10)
                upstream.connect(self.socket_path)
            except OSError:
                client.close()
                upstream.close()
                continue
            client.setblocking(False)
            upstream.setblocking(False)
            a, b = _End(client), _End(upstream)
            a.peer, b.peer = b, a
            self._watch(a)
            self._watch(b)

    def _pull(self, end: _End) -> None:
        try:
            data = end.sock.recv(_CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        if not data:
            end.eof = True
            if not end.peer.outbox:
                _shut_write(end.peer.sock)
            return
        end.peer.outbox = data
        self._flush(end.peer)

    def _flush(self, end: _End) -> None:
        if end.outbox:
            try:
                sent = end.sock.send(end.outbox)
            except (BlockingIOError, InterruptedError):
                sent = 0
            end.outbox = end.outbox[sent:]
        if not end.outbox and end.peer.eof:
            _shut_write(end.sock)

    def _settle(self, end: _End) -> None:
        if end.eof and end.peer.eof and not end.outbox and not end.peer.outbox:
            self._close(end)
        else:
            self._watch(end)
            self._watch(end.peer)

    def _watch(self, end: _End) -> None:
        # Read only when the peer has room (its outbox is empty): a slow reader holds back its sender, nobody else.
        events = 0
        if not end.eof and not end.peer.outbox:
            events |= selectors.EVENT_READ
        if end.outbox:
            events |= selectors.EVENT_WRITE
        if events == end.events:
            return
        if not end.events:
            self.selector.register(end.sock, events, end)
        elif not events:
            self.selector.unregister(end.sock)
        else:
            self.selector.modify(end.sock, events, end)
        end.events = events

    def _close(self, end: _End) -> None:
        for side in (end, end.peer):
            if side.closed:
                continue
            side.closed = True
            if side.events:
                self.selector.unregister(side.sock)
            side.sock.close()


def _shut_write(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass


# --- the create_connection shim -------------------------------------------------------------------

_state: dict = {"port": None, "declared": frozenset()}
_original_create_connection = socket.create_connection


def _create_connection(address, timeout=socket._GLOBAL_DEFAULT_TIMEOUT, source_address=None, **kwargs):
    """socket.create_connection, but a declared host:port goes through a CONNECT tunnel of the forwarder."""
    target = _declared_target(address)
    if target is None:
        return _original_create_connection(address, timeout, source_address, **kwargs)
    sock = _original_create_connection(("127.0.0.1", _state["port"]), timeout)
    try:
        sock.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode("ascii"))
        head = _read_head(sock)
        status = head.split(b"\r\n", 1)[0].decode("latin-1")
        if status.split(" ")[1:2] != ["200"]:
            raise ConnectionRefusedError(f"egress proxy refused {target}: {_read_rest(sock) or status}")
    except BaseException:
        sock.close()
        raise
    return sock


def _declared_target(address) -> str | None:
    try:
        target = format_target(normalize_host(address[0]), int(address[1]))
    except (ValueError, TypeError, AttributeError, IndexError):
        return None
    return target if target in _state["declared"] else None


def _read_head(sock: socket.socket) -> bytes:
    # Byte by byte: whatever follows the reply belongs to the tunnel (server-first protocols send at once).
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        byte = sock.recv(1)
        if not byte or len(head) > 8192:
            raise ConnectionError("egress proxy gave no answer to CONNECT")
        head += byte
    return head


def _read_rest(sock: socket.socket) -> str:
    data = b""
    try:
        sock.settimeout(2)
        while len(data) < 1024 and (chunk := sock.recv(1024)):
            data += chunk
    except OSError:
        pass
    return data.decode("utf-8", "replace").strip()


def start(socket_path: str, network: Sequence[str]) -> int:
    """Start the forwarder thread for the egress proxy at `socket_path`, set the proxy variables, return its port."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    threading.Thread(target=_Forwarder(listener, socket_path).run, name="plugyard-egress-forward", daemon=True).start()

    url = f"http://127.0.0.1:{port}"
    for name in PROXY_VARIABLES:
        os.environ[name] = url
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = ""

    declared = set()
    for entry in network:
        try:
            declared.add(normalize_target(entry))
        except ValueError:
            continue  # the host validated the manifest; an entry it rejected has no proxy route anyway
    _state.update(port=port, declared=frozenset(declared))
    socket.create_connection = _create_connection
    return port
