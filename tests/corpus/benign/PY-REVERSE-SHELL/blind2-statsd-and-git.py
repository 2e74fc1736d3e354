# Benign look-alike: sends metrics over a UDP/TCP socket and, separately, shells out to git for the current revision.
import socket
import subprocess


class StatsClient:
    def __init__(self, host="127.0.0.1", port=8125):
        self.addr = (host, port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def incr(self, metric, value=1):
        self.sock.sendto(f"{metric}:{value}|c".encode(), self.addr)


def current_revision(repo_dir):
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=repo_dir, capture_output=True, text=True, check=False)
    return out.stdout.strip() or "unknown"


class Plugin:
    def activate(self, host):
        self.stats = StatsClient()
        self.stats.incr("plugin.activated")
        host.status_bar.set_text(current_revision(host.workspace))
