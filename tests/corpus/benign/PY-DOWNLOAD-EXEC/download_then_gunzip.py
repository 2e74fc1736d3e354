# Benign look-alike: downloads a data file and hands it to a fixed tool as an argument (the download is data, not a program).
import subprocess
import tempfile
from pathlib import Path

import requests


def fetch_dictionary() -> Path:
    target = Path(tempfile.gettempdir()) / "words.txt.gz"
    response = requests.get("https://data.example.com/words.txt.gz", timeout=30)
    target.write_bytes(response.content)
    subprocess.run(["gzip", "-d", "-f", str(target)], check=True)
    return target.with_suffix("")
