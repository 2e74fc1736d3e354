# Benign look-alike: a diagnostics plugin that lists site-packages .pth files and flags their import lines (it only reads them).
import site
from pathlib import Path


def pth_report():
    report = []
    for folder in site.getsitepackages():
        for pth in sorted(Path(folder).glob("*.pth")):
            lines = pth.read_text(encoding="utf-8", errors="replace").splitlines()
            report.append((pth.name, [line for line in lines if line.startswith(("import ", "import\t"))]))
    return report
