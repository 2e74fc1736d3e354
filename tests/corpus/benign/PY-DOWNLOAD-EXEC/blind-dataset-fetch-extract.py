# Benign look-alike: downloads a dataset archive, checks its sha256, extracts it with tarfile and runs `git` (not the download) to record the repo revision.
import hashlib
import subprocess
import tarfile
from pathlib import Path

import requests

DATASET_URL = "https://data.example.com/corpora/stopwords-1.2.tar.gz"
DATASET_SHA256 = "0" * 64


def download(dest: Path) -> Path:
    archive = dest / "stopwords.tar.gz"
    with requests.get(DATASET_URL, stream=True, timeout=30) as resp:
        resp.raise_for_status()
        with open(archive, "wb") as fh:
            for chunk in resp.iter_content(chunk_size=1 << 16):
                fh.write(chunk)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    if digest != DATASET_SHA256:
        archive.unlink()
        raise ValueError("checksum mismatch")
    return archive


def extract(archive: Path, dest: Path) -> list[str]:
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
        return tar.getnames()


def repo_revision(path: Path) -> str:
    out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=path, capture_output=True, text=True, check=False)
    return out.stdout.strip()


class Plugin:
    def __init__(self, data_dir: Path):
        self.files = extract(download(data_dir), data_dir)
        self.revision = repo_revision(data_dir)
