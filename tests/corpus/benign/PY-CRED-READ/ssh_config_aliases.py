# Benign look-alike: lists host aliases from ~/.ssh/config (no keys are read).
import os


def aliases() -> list[str]:
    path = os.path.join(os.path.expanduser("~"), ".ssh", "config")
    if not os.path.exists(path):
        return []
    with open(path) as handle:
        return [line.split()[1] for line in handle if line.lower().startswith("host ") and "*" not in line]
