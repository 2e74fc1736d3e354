# Benign look-alike: a small TCP echo server (recv and send on a socket, no process involved).
import socket


def serve(port: int = 7007) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", port))
        server.listen()
        conn, _ = server.accept()
        with conn:
            while data := conn.recv(1024):
                conn.sendall(data.upper())
