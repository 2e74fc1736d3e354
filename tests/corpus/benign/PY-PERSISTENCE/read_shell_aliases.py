# Benign look-alike: reads ~/.bashrc and ~/.zshrc (never writes them) to show the user's aliases.
import re
from pathlib import Path

ALIAS = re.compile(r"^alias\s+([\w.-]+)=(.*)$")


def aliases():
    found = {}
    for name in (".bashrc", ".zshrc"):
        path = Path.home() / name
        if not path.is_file():
            continue
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            match = ALIAS.match(line.strip())
            if match:
                found[match.group(1)] = match.group(2).strip("'\"")
    return found
