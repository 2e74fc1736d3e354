"""Host side of a plugin's network boundary: an HTTP proxy on a Unix socket that reaches only declared targets.

A worker's network namespace has nothing but loopback; this proxy's socket is its only way out. It speaks
`CONNECT host:port` (a tunnel) and absolute-form plain HTTP (`GET http://host/path`, one request per
connection), and allows exactly the "host:port" pairs of the plugin's `[permissions].network`. It counts the
bytes it relays for each worker, known by the session of the process at the other end of its socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import re
import socket
import stat
import struct
from collections.abc import Awaitable, Callable, Iterable, Sequence

from plugyard_sandbox.egress_forward import format_target, normalize_target, parse_target

log = logging.getLogger(__name__)

MAX_HEADER_BYTES = 8 * 1024
MAX_COUNTED_WORKERS = 16  # a plugin has one worker, and one more while it reloads: older counts are dropped
_PEERCRED = struct.Struct("3i")  # pid, uid, gid
NOT_DECLARED = "not declared in [permissions].network"
_CHUNK = 1 << 16
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_DROPPED_HEADERS = frozenset({"host", "connection", "keep-alive", "proxy-connection", "proxy-authorization", "upgrade"})
_REASONS = {
    400: "Bad Request",
    403: "Forbidden",
    408: "Request Timeout",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

Resolver = Callable[[str, int], Awaitable[Sequence[str]]]


class _Reject(Exception):
    """Answer the client with `status` and close; `denied` is the reason when the policy refused `target`."""

    def __init__(self, status: int, message: str, target: str = "", denied: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.target = target
        self.denied = denied


class EgressProxy:
    def __init__(
        self,
        socket_path: str,
        allowed: Iterable[str],
        on_denied: Callable[[str, str], None] | None = None,
        on_allowed: Callable[[str], None] | None = None,
        connect_timeout: float = 10.0,
        resolver: Resolver | None = None,
        *,
        max_connections: int = 64,
        idle_timeout: float = 300.0,
    ) -> None:
        self.socket_path = socket_path
        self.allowed = frozenset(normalize_target(entry) for entry in allowed)  # ValueError on a malformed entry
        self.on_denied = on_denied
        self.on_allowed = on_allowed
        self.connect_timeout = connect_timeout
        self.resolver = resolver or _resolve
        self.max_connections = max_connections
        self.idle_timeout = idle_timeout  # for the request head and for a relay with no bytes either way
        self.denied_count = 0
        self.connections = 0  # accepted so far
        self._traffic: dict[int, list[int]] = {}  # [sent upstream, received from upstream] by worker session
        self._handlers: set[asyncio.Task] = set()
        self._server: asyncio.Server | None = None

    @property
    def active(self) -> int:
        return len(self._handlers)

    def traffic(self, worker_pid: int) -> tuple[int, int] | None:
        """(bytes sent, bytes received) relayed for the worker `worker_pid` and what it started; None if it never connected."""
        counts = self._traffic.get(worker_pid)
        return (counts[0], counts[1]) if counts is not None else None

    def _counter(self, writer: asyncio.StreamWriter) -> list[int]:
        session = _peer_session(writer)
        # Moved to the end at each connection: the counts dropped first are those of the longest silent sessions.
        counts = self._traffic.pop(session, None) or [0, 0]
        self._traffic[session] = counts
        while len(self._traffic) > MAX_COUNTED_WORKERS:
            del self._traffic[next(iter(self._traffic))]
        return counts

    async def start(self) -> None:
        parent = os.path.dirname(self.socket_path)
        if parent:
            os.makedirs(parent, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            if stat.S_ISSOCK(os.lstat(self.socket_path).st_mode):
                os.unlink(self.socket_path)  # left over from an earlier run
        self._server = await asyncio.start_unix_server(self._handle, path=self.socket_path, limit=MAX_HEADER_BYTES)
        # Connecting needs write permission on the socket file, and the worker runs as a dropped user.
        os.chmod(self.socket_path, 0o666)

    async def close(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        await server.wait_closed()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.socket_path)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        self._handlers.add(task)
        try:
            await self._answer(reader, writer)
        except asyncio.CancelledError:
            writer.transport.abort()  # close() cancels us; the stream machinery would report a cancelled handler
        except Exception:
            log.exception("egress proxy: unexpected error")
            writer.transport.abort()
        finally:
            self._handlers.discard(task)

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if len(self._handlers) > self.max_connections:
                raise _Reject(503, "too many connections through the egress proxy")
            await self._serve(reader, writer)
        except _Reject as reject:
            await self._refuse(reader, writer, reject)
        except OSError:
            pass  # the client or the upstream went away
        finally:
            await _close(writer)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Read one request, check its target, connect and relay; on_allowed fires once per connection."""
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self.idle_timeout)
        except asyncio.IncompleteReadError as exc:
            if exc.partial:
                raise _Reject(400, "incomplete request") from None
            return  # connected and left without a word
        except asyncio.LimitOverrunError:
            raise _Reject(400, f"request header larger than {MAX_HEADER_BYTES} bytes") from None
        except TimeoutError:
            raise _Reject(408, "no request received in time") from None

        method, uri, version, headers = _parse_head(head)
        tunnel = method == "CONNECT"
        host, port, path = _parse_uri(uri, tunnel)
        target = format_target(host, port)
        if target not in self.allowed:
            raise _Reject(403, f"egress to {target} refused: {NOT_DECLARED}", target, NOT_DECLARED)
        up_reader, up_writer = await self._connect(host, port, target)
        counts = self._counter(writer)
        try:
            if tunnel:
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            else:
                request = _origin_form(method, path, version, headers, host if port == 80 else target)
                up_writer.write(request)
                counts[0] += len(request)
            _notify(self.on_allowed, target)
            await self._relay(reader, writer, up_reader, up_writer, tunnel=tunnel, counts=counts)
        finally:
            await _close(up_writer)

    async def _connect(self, host: str, port: int, target: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        error: BaseException | None = None
        # Connect to the very addresses that were vetted: resolving again could return something else.
        for address in await self._vetted_addresses(host, port, target):
            try:
                return await asyncio.wait_for(asyncio.open_connection(address, port), self.connect_timeout)
            except (OSError, TimeoutError) as exc:
                error = exc
        if isinstance(error, TimeoutError):
            raise _Reject(504, f"connecting to {target} timed out")
        raise _Reject(502, f"cannot connect to {target}: {error}")

    async def _vetted_addresses(self, host: str, port: int, target: str) -> list[str]:
        if _ip_literal(host) is not None:
            return [host]  # declared literally (the allowlist matched it exactly): whatever it is, it was asked for
        try:
            addresses = list(await asyncio.wait_for(self.resolver(host, port), self.connect_timeout))
        except Exception as exc:
            raise _Reject(502, f"cannot resolve {host}: {exc}") from None
        if not addresses:
            raise _Reject(502, f"cannot resolve {host}: no addresses")
        # DNS rebinding guard: a plugin must not declare a public-looking name that resolves to 127.0.0.1 (or a
        # private or link-local address) to reach services on the host or its internal network. Internal
        # targets are allowed only when declared as address literals. Any internal address refuses the whole
        # name: trying the public ones first would still fall through to the internal one when they fail.
        for address in addresses:
            ip = _ip_literal(address)
            if ip is None or _is_internal(ip):
                reason = f"{host} resolves to internal address {address}"
                raise _Reject(403, f"egress to {target} refused: {reason}", target, reason)
        return addresses

    async def _relay(
        self,
        client_reader: asyncio.StreamReader,
        client_writer: asyncio.StreamWriter,
        up_reader: asyncio.StreamReader,
        up_writer: asyncio.StreamWriter,
        *,
        tunnel: bool,
        counts: list[int],
    ) -> None:
        """Copy both ways, adding the bytes to counts: [0] what went upstream, [1] what came back."""
        loop = asyncio.get_running_loop()
        last_activity = loop.time()

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter, counted: int) -> bool:
            """Copy until EOF (True, the EOF passed on) or until idle or broken (False)."""
            nonlocal last_activity
            try:
                while True:
                    remaining = last_activity + self.idle_timeout - loop.time()
                    if remaining <= 0:
                        return False
                    try:
                        data = await asyncio.wait_for(src.read(_CHUNK), remaining)
                    except TimeoutError:
                        continue  # the other direction may have been busy meanwhile
                    if not data:
                        if dst.can_write_eof():
                            dst.write_eof()
                        return True
                    last_activity = loop.time()
                    counts[counted] += len(data)
                    dst.write(data)
                    await dst.drain()
            except OSError:
                return False

        upload = asyncio.create_task(pump(client_reader, up_writer, 0))
        download = asyncio.create_task(pump(up_reader, client_writer, 1))
        pending = {upload, download}
        try:
            # A tunnel lives on half-closed until both directions end; a plain request ends with its response.
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                if not all(task.result() for task in done) or (not tunnel and download in done):
                    break
        finally:
            for task in (upload, download):
                task.cancel()
            await asyncio.gather(upload, download, return_exceptions=True)

    async def _refuse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, reject: _Reject) -> None:
        if reject.denied is not None:
            self.denied_count += 1
            _notify(self.on_denied, reject.target, reject.denied)
        body = (reject.message + "\n").encode("utf-8")
        head = (
            f"HTTP/1.1 {reject.status} {_REASONS[reject.status]}\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        with contextlib.suppress(Exception):
            writer.write(head.encode("ascii") + body)
            # Half-close and swallow what the client still sends: closing with unread input resets the
            # connection, and the client could lose the answer.
            writer.write_eof()
            async with asyncio.timeout(1.0):
                while await reader.read(_CHUNK):
                    pass


def _parse_head(head: bytes) -> tuple[str, str, str, list[tuple[str, str]]]:
    lines = head[:-4].decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not _TOKEN.fullmatch(parts[0]) or parts[2] not in ("HTTP/1.0", "HTTP/1.1"):
        raise _Reject(400, "malformed request line")
    headers = []
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        value = value.strip(" \t")
        if not colon or not _TOKEN.fullmatch(name) or _BAD_VALUE.search(value):
            raise _Reject(400, "malformed header line")
        headers.append((name, value))
    return parts[0], parts[1], parts[2], headers


def _parse_uri(uri: str, tunnel: bool) -> tuple[str, int, str]:
    """(host, port, origin-form path) of a CONNECT authority or an absolute-form http:// URI."""
    try:
        if tunnel:
            return (*parse_target(uri), "")
        if uri[:7].lower() != "http://":
            raise _Reject(400, "the egress proxy takes CONNECT or absolute-form http:// requests only")
        rest = uri[7:].partition("#")[0]
        cut = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
        authority, path = rest[:cut], rest[cut:]
        if "@" in authority:
            raise _Reject(400, "credentials in the request URI are not supported")
        host, port = parse_target(authority, default_port=80)
    except ValueError as exc:
        raise _Reject(400, f"bad request target: {exc}") from None
    return host, port, path if path.startswith("/") else "/" + path


def _origin_form(method: str, path: str, version: str, headers: list[tuple[str, str]], host_header: str) -> bytes:
    # Hop-by-hop headers stay here, and so do the ones the client's Connection header names.
    listed = {token.strip().lower() for name, value in headers if name.lower() == "connection" for token in value.split(",")}
    dropped = _DROPPED_HEADERS | listed
    lines = [f"{method} {path} {version}", f"Host: {host_header}"]
    lines += [f"{name}: {value}" for name, value in headers if name.lower() not in dropped]
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _ip_literal(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _is_internal(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    # is_global is False for loopback, link-local, private (RFC 1918, ULA), unspecified, shared (CGNAT) and reserved.
    return not ip.is_global or ip.is_multicast


async def _resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def _peer_session(writer: asyncio.StreamWriter) -> int:
    """The session of the process that connected: a worker starts its own session (its pid), and what the plugin
    starts stays in it, so its traffic counts for that worker too. -1 when the peer cannot be known."""
    sock = writer.get_extra_info("socket")
    try:
        pid = _PEERCRED.unpack(sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _PEERCRED.size))[0]
    except (AttributeError, OSError, struct.error):
        return -1
    try:
        return os.getsid(pid)
    except OSError:  # it has exited already: its own pid is the best guess
        return pid


def _notify(callback: Callable | None, *args: str) -> None:
    if callback is None:
        return
    try:
        callback(*args)
    except Exception:
        log.exception("egress proxy: callback failed")


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    try:
        await asyncio.wait_for(writer.wait_closed(), 5.0)
    except TimeoutError:
        writer.transport.abort()  # the peer does not read what is left to send
    except Exception:
        pass
