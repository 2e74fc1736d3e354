# Benign look-alike: downloads a public dataset tarball then runs the system `tar` to unpack it (the download is an argument, never the program).
import shutil
import subprocess
import tempfile
import urllib.request
from pathlib import Path

DATASET = "https://data.example.com/corpora/stopwords-1.2.tar.gz"


def install_dataset(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(suffix=".tar.gz", delete=False) as tmp:
        with urllib.request.urlopen(DATASET, timeout=30) as resp:
            shutil.copyfileobj(resp, tmp)
    tar = shutil.which("tar") or "tar"
    subprocess.run([tar, "-xzf", tmp.name, "-C", str(dest)], check=True)
    Path(tmp.name).unlink()
    return dest / "stopwords"


class Plugin:
    def activate(self, host):
        host.register_command("fetch-stopwords", lambda: install_dataset(host.data_dir))
