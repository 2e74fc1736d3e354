"""A real upstream on 127.0.0.1 and a one-shot proxy client."""

from __future__ import annotations

import asyncio


class Upstream:
    """An asyncio TCP server. "echo" greets, echoes every chunk and says bye on EOF; "http" answers one request."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.port = 0
        self.connections = 0
        self.requests: list[str] = []  # heads (and bodies) of the HTTP requests seen
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        self._server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            if self.kind == "echo":
                writer.write(b"hello\n")
                while data := await reader.read(1 << 16):
                    writer.write(data)
                    await writer.drain()
                writer.write(b"bye\n")
            else:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
                length = next((int(line.split(":")[1]) for line in head.split("\r\n") if line.lower().startswith("content-length:")), 0)
                body = (await reader.readexactly(length)).decode() if length else ""
                self.requests.append(head + body)
                answer = f"upstream saw {head.split(chr(13))[0]}".encode()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(answer), answer))
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


async def exchange(socket_path: str, data: bytes) -> bytes:
    """Send `data` to the proxy and read its whole answer."""
    reader, writer = await asyncio.open_unix_connection(socket_path)
    writer.write(data)
    answer = b""
    try:
        while chunk := await asyncio.wait_for(reader.read(1 << 16), 10):
            answer += chunk
    except ConnectionResetError:
        pass
    writer.close()
    return answer
