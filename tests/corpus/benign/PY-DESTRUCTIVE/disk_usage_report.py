# Benign look-alike: walks the home directory to report the largest files and writes its report to a fixed file.
import heapq
import os
from pathlib import Path


def largest(count=20):
    sizes = []
    for folder, _dirs, files in os.walk(os.path.expanduser("~")):
        for name in files:
            try:
                sizes.append((os.path.getsize(os.path.join(folder, name)), os.path.join(folder, name)))
            except OSError:
                continue
    top = heapq.nlargest(count, sizes)
    report = Path.home() / ".cache" / "plugyard-disk" / "report.txt"
    report.parent.mkdir(parents=True, exist_ok=True)
    with open(report, "w", encoding="utf-8") as handle:
        handle.writelines(f"{size}\t{path}\n" for size, path in top)
    return top
