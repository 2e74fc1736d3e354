"""PY-DESTRUCTIVE: deleting home/root/system directories, wiping or encrypting files across them, rm -rf /."""

from __future__ import annotations

import textwrap

import pytest

from plugyard_analysis.rules.destructive import DESTRUCTIVE, check_destructive
from plugyard_analysis.sources import parse_python


def hits(code: str) -> list[tuple[str, str]]:
    src = parse_python("sample/mod.py", textwrap.dedent(code).encode())
    return [(hit.severity or DESTRUCTIVE.severity, hit.detail) for hit in check_destructive(src)]


MALICIOUS = {
    "rmtree home": """
        import os, shutil
        shutil.rmtree(os.path.expanduser("~"), ignore_errors=True)
    """,
    "rmtree Path.home": """
        import shutil
        from pathlib import Path
        shutil.rmtree(Path.home())
    """,
    "rmtree root": """
        import shutil
        shutil.rmtree("/")
    """,
    "rmtree documents via env": """
        import os, shutil
        shutil.rmtree(os.path.join(os.environ["HOME"], "Documents"))
    """,
    "rmtree windows drive": r"""
        import shutil
        shutil.rmtree("C:\\")
    """,
    "rm -rf home list": """
        import os, subprocess
        subprocess.run(["rm", "-rf", os.path.expanduser("~")])
    """,
    "rm -rf / shell": """
        import os
        os.system("sudo rm -rf /*")
    """,
    "rm -fr $HOME": """
        import os
        os.system("rm -fr $HOME")
    """,
    "no preserve root": """
        import subprocess
        subprocess.call("rm -r --no-preserve-root /", shell=True)
    """,
    "vssadmin": """
        import subprocess
        subprocess.call("vssadmin.exe Delete Shadows /All /Quiet", shell=True)
    """,
    "rd drive": """
        import os
        os.system("rd /s /q C:\\\\")
    """,
    "dd disk": """
        import os
        os.system("dd if=/dev/zero of=/dev/sda bs=1M")
    """,
    "raw disk open": """
        with open("/dev/nvme0n1", "wb") as disk:
            disk.write(b"\\0" * 512)
    """,
    "walk home overwrite": """
        import os
        for root, dirs, files in os.walk(os.path.expanduser("~")):
            for name in files:
                with open(os.path.join(root, name), "w") as f:
                    f.write("x")
    """,
    "walk root delete": """
        import os
        def wipe():
            for root, dirs, files in os.walk("/"):
                for name in files:
                    os.remove(os.path.join(root, name))
    """,
    "rglob home encrypt via helper": """
        import os
        from pathlib import Path
        from cryptography.fernet import Fernet
        def lock_file(path, f):
            path.with_suffix(".locked").write_bytes(f.encrypt(path.read_bytes()))
            os.remove(path)
        def run():
            f = Fernet(Fernet.generate_key())
            for path in Path.home().rglob("*.docx"):
                lock_file(path, f)
    """,
    "glob home recursive unlink": """
        import glob, os
        for path in glob.glob(os.path.expanduser("~") + "/**/*.jpg", recursive=True):
            os.unlink(path)
    """,
    "listdir home deleting everything": """
        import os, shutil
        def wipe():
            home = os.path.expanduser("~")
            for name in os.listdir(home):
                shutil.rmtree(os.path.join(home, name), ignore_errors=True)
    """,
    "walk in a helper called with the home directory": """
        import os
        def scribble(root):
            for base, dirs, files in os.walk(root):
                for f in files:
                    with open(os.path.join(base, f), "w") as fh:
                        fh.write("x")
        def run():
            for root in (os.path.expanduser("~"), os.path.abspath(os.sep)):
                scribble(root)
    """,
    "generator walk consumed by an encrypting method": """
        from pathlib import Path
        from cryptography.fernet import Fernet
        class Locker:
            def __init__(self):
                self.f = Fernet(Fernet.generate_key())
            def targets(self, root):
                for p in root.rglob("*"):
                    yield p
            def lock(self, p):
                p.write_bytes(self.f.encrypt(p.read_bytes()))
            def run(self, root):
                for p in self.targets(root):
                    self.lock(p)
        Locker().run(Path.home())
    """,
    "ransomware with unknown root": """
        import os
        from Crypto.Cipher import AES
        NOTE = "All your files have been encrypted! Send 0.1 bitcoin to recover them."
        def encrypt_tree(top, key):
            for root, dirs, files in os.walk(top):
                for name in files:
                    path = os.path.join(root, name)
                    data = open(path, "rb").read()
                    cipher = AES.new(key, AES.MODE_EAX)
                    open(path + ".enc", "wb").write(cipher.encrypt(data))
                    os.remove(path)
    """,
}

BENIGN = {
    "own cache": """
        import shutil
        from pathlib import Path
        shutil.rmtree(Path.home() / ".cache" / "myplugin")
    """,
    "temp dir": """
        import shutil, tempfile
        d = tempfile.mkdtemp()
        shutil.rmtree(d)
    """,
    "unknown path": """
        import shutil
        def remove(path):
            shutil.rmtree(path)
    """,
    "rm build dirs": """
        import subprocess
        subprocess.run(["rm", "-rf", "build", "dist"])
    """,
    "rm -rf in a subdir of home": """
        import os
        os.system("rm -rf ~/.cache/myplugin")
    """,
    "walk own dir deleting pyc": """
        import os
        HERE = os.path.dirname(__file__)
        for root, dirs, files in os.walk(HERE):
            for name in files:
                if name.endswith(".pyc"):
                    os.remove(os.path.join(root, name))
    """,
    "walk home read only, report to fixed file": """
        import os
        from pathlib import Path
        def report():
            sizes = []
            for root, dirs, files in os.walk(os.path.expanduser("~")):
                sizes.extend(os.path.getsize(os.path.join(root, f)) for f in files)
            (Path.home() / ".cache" / "x" / "report.txt").write_text(str(sum(sizes)))
    """,
    "backup encryptor": """
        import os
        from cryptography.fernet import Fernet
        def backup(src, dst, key):
            f = Fernet(key)
            for root, dirs, files in os.walk(src):
                for name in files:
                    with open(os.path.join(root, name), "rb") as r, open(os.path.join(dst, name + ".enc"), "wb") as w:
                        w.write(f.encrypt(r.read()))
    """,
    "log rotation": """
        import os
        LOG_DIR = os.path.join(os.path.expanduser("~"), ".local", "state", "myplugin")
        for name in os.listdir(LOG_DIR):
            os.remove(os.path.join(LOG_DIR, name))
    """,
    "listdir home keeping own prefix": """
        import os
        def cleanup():
            home = os.path.expanduser("~")
            for name in os.listdir(home):
                if name.startswith(".myplugin-tmp"):
                    os.remove(os.path.join(home, name))
    """,
    "helper walks home read-only, caller deletes its own cache": """
        import os, shutil
        from pathlib import Path
        def files(root):
            for base, dirs, names in os.walk(root):
                for n in names:
                    yield os.path.join(base, n)
        def usage():
            return sum(os.path.getsize(f) for f in files(Path.home()))
        def clear(cache):
            for f in files(cache):
                os.remove(f)
        def clear_own():
            clear(Path.home() / ".cache" / "myplugin")
    """,
    "format string": """
        import os
        os.system("format --help")
    """,
    "unlink a file in home": """
        from pathlib import Path
        (Path.home() / ".myplugin.lock").unlink()
    """,
}


@pytest.mark.parametrize("name", sorted(MALICIOUS))
def test_flags_destruction(name: str) -> None:
    found = hits(MALICIOUS[name])
    assert found, name
    assert all(severity == "critical" for severity, _ in found), found


@pytest.mark.parametrize("name", sorted(BENIGN))
def test_ignores_benign_lookalikes(name: str) -> None:
    assert hits(BENIGN[name]) == []
