"""Where the stack lives: NATS URL and data directory, read from the environment in one place."""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path

DEFAULT_NATS_URL = "nats://127.0.0.1:4222"
DEFAULT_DATA_DIR = Path(".plugyard")
NATS_URL_FILE = "nats.url"
METRICS_URL_FILE = "metrics.url"  # the telemetry service writes where it serves /metrics


def data_dir(explicit: str | Path | None = None) -> Path:
    """The data directory: an explicit value, else `PLUGYARD_DATA_DIR`, else `./.plugyard`."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("PLUGYARD_DATA_DIR")
    return Path(env) if env else DEFAULT_DATA_DIR


def nats_url(data_directory: str | Path | None = None) -> str:
    """`PLUGYARD_NATS_URL`, else the URL `plugyard up` wrote into the data dir, else the default."""
    env = os.environ.get("PLUGYARD_NATS_URL")
    if env:
        return env
    written = data_dir(data_directory) / NATS_URL_FILE
    try:
        text = written.read_text().strip()
    except OSError:
        text = ""
    return text or DEFAULT_NATS_URL


def service_dir(service: str, data_directory: str | Path | None = None) -> Path:
    """A service's own directory inside the data dir (created on demand)."""
    path = data_dir(data_directory) / service
    path.mkdir(parents=True, exist_ok=True)
    return path


def loader_host() -> str:
    """This machine's loader name (one NATS subject token): `PLUGYARD_LOADER_HOST`, else the host name."""
    raw = os.environ.get("PLUGYARD_LOADER_HOST") or socket.gethostname() or "localhost"
    return re.sub(r"[^A-Za-z0-9_-]+", "-", raw).strip("-")[:100] or "localhost"


NATS_CA_FILE = "nats-ca.pem"


def nats_ca(data_directory: str | Path | None = None) -> Path | None:
    """The CA that signed the NATS server's certificate: `PLUGYARD_NATS_CA`, else `<data-dir>/nats-ca.pem` if present."""
    env = os.environ.get("PLUGYARD_NATS_CA")
    if env:
        return Path(env)
    written = data_dir(data_directory) / NATS_CA_FILE
    return written if written.exists() else None
