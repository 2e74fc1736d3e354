# Benign look-alike: exports text to the macOS clipboard with pbcopy.
import subprocess


def export(text: str) -> None:
    subprocess.run(["pbcopy"], input=text.encode(), check=True)
