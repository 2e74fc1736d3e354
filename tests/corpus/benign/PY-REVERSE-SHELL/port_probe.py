# Benign look-alike: checks a database port with a socket, then runs a fixed migration tool.
import socket
import subprocess


def database_ready(host: str = "localhost", port: int = 5432) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def migrate() -> None:
    if database_ready():
        subprocess.run(["alembic", "upgrade", "head"], check=True)
