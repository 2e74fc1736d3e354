# Benign look-alike: classic double-fork daemonisation (dup2 of /dev/null onto 0/1/2) plus a local control socket; no shell is bound to the socket.
import json
import os
import socket
import sys


def daemonize(logfile: str) -> None:
    if os.fork():
        sys.exit(0)
    os.setsid()
    if os.fork():
        sys.exit(0)
    devnull = os.open(os.devnull, os.O_RDWR)
    log = os.open(logfile, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(devnull, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)


def serve_status(port: int = 8765) -> None:
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(1)
    while True:
        conn, _ = srv.accept()
        with conn:
            conn.sendall(json.dumps({"pid": os.getpid(), "status": "ok"}).encode())


class Plugin:
    def start(self, logfile: str) -> None:
        daemonize(logfile)
        serve_status()
