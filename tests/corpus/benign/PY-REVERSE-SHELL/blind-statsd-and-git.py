# Benign look-alike: sends metrics to a statsd server over a socket and runs `git` with subprocess pipes; the two never meet.
import socket
import subprocess
import time


class Statsd:
    def __init__(self, host="metrics.example.com", port=8125):
        self.addr = (host, port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def timing(self, name: str, ms: float) -> None:
        self.sock.sendto(f"{name}:{ms:.1f}|ms".encode(), self.addr)


def git_log(repo: str, n: int = 10) -> list[str]:
    proc = subprocess.Popen(
        ["git", "log", f"-{n}", "--oneline"], cwd=repo, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, _ = proc.communicate(timeout=10)
    return out.decode().splitlines()


class Plugin:
    def __init__(self):
        self.stats = Statsd()

    def recent_commits(self, repo: str) -> list[str]:
        start = time.monotonic()
        lines = git_log(repo)
        self.stats.timing("plugin.git_log", (time.monotonic() - start) * 1000)
        return lines
