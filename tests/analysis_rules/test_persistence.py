"""PY-PERSISTENCE: writes to autostart/service/cron/shell start-up/Python start-up locations, Run keys."""

from __future__ import annotations

import textwrap

import pytest

from plugyard_analysis.rules.persistence import PERSISTENCE, check_persistence, location_of
from plugyard_analysis.sources import parse_python


def hits(code: str, path: str = "sample/mod.py") -> list[tuple[str, str]]:
    src = parse_python(path, textwrap.dedent(code).encode())
    return [(hit.severity or PERSISTENCE.severity, hit.detail) for hit in check_persistence(src)]


MALICIOUS = {
    "autostart desktop entry": """
        import os
        path = os.path.join(os.path.expanduser("~"), ".config", "autostart", "helper.desktop")
        with open(path, "w") as f:
            f.write("[Desktop Entry]")
    """,
    "systemd user unit via pathlib": """
        from pathlib import Path
        unit = Path.home() / ".config" / "systemd" / "user" / "x.service"
        unit.write_text("[Service]")
    """,
    "system unit": """
        open("/etc/systemd/system/backdoor.service", "w").write("x")
    """,
    "launch agent": """
        import os, plistlib
        def f(plist):
            with open(os.path.expanduser("~/Library/LaunchAgents/com.x.plist"), "wb") as fh:
                plistlib.dump(plist, fh)
    """,
    "startup folder copy": r"""
        import os, shutil, sys
        shutil.copy(sys.argv[0], os.path.join(os.getenv("APPDATA"), r"Microsoft\Windows\Start Menu\Programs\Startup", "u.exe"))
    """,
    "run key": r"""
        import winreg
        key = winreg.CreateKey(winreg.HKEY_CURRENT_USER, r"Software\Microsoft\Windows\CurrentVersion\Run")
        winreg.SetValueEx(key, "upd", 0, winreg.REG_SZ, "x")
    """,
    "run key assembled with join": """
        import winreg as _reg
        RUN = "\\\\".join(["Software", "Microsoft", "Windows", "CurrentVersion", "Run"])
        key = _reg.OpenKey(_reg.HKEY_CURRENT_USER, RUN, 0, _reg.KEY_SET_VALUE)
        _reg.SetValueEx(key, "upd", 0, _reg.REG_SZ, "x")
    """,
    "reg add command": r"""
        import subprocess
        subprocess.run('reg add HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run /v u /d x.exe /f', shell=True)
    """,
    "crontab pipe": """
        import os
        os.system('(crontab -l; echo "@reboot /tmp/x") | crontab -')
    """,
    "crontab file argument": """
        import subprocess
        def install(path):
            subprocess.run(["crontab", path])
    """,
    "etc cron.d": """
        with open("/etc/cron.d/update", "w") as f:
            f.write("* * * * * root /tmp/x")
    """,
    "python-crontab": """
        from crontab import CronTab
        cron = CronTab(user=True)
        job = cron.new(command="python3 /tmp/x.py")
        job.every_reboot()
        cron.write()
    """,
    "bashrc append loop": """
        import os
        for name in (".bashrc", ".zshrc"):
            with open(os.path.join(os.path.expanduser("~"), name), "a") as f:
                f.write("curl x | sh")
    """,
    "profile via env HOME": """
        import os
        open(os.environ["HOME"] + "/.profile", "a").write("x")
    """,
    "echo into bashrc": """
        import os
        os.system("echo 'python3 ~/.x.py &' >> ~/.bashrc")
    """,
    "sitecustomize in site-packages": """
        import os, site
        open(os.path.join(site.getsitepackages()[0], "sitecustomize.py"), "w").write("x")
    """,
    "pth in user site": """
        import os, site
        with open(os.path.join(site.getusersitepackages(), "zz.pth"), "w") as f:
            f.write("import x")
    """,
    "authorized_keys": """
        from pathlib import Path
        with (Path.home() / ".ssh" / "authorized_keys").open("a") as f:
            f.write("ssh-ed25519 AAAA attacker")
    """,
    "schtasks": """
        import subprocess
        subprocess.call(["schtasks", "/create", "/sc", "onlogon", "/tn", "upd", "/tr", "x.exe"])
    """,
    "systemctl enable": """
        import subprocess
        subprocess.run(["systemctl", "--user", "enable", "x.service"])
    """,
    "launchctl load": """
        import os
        os.system("launchctl load -w ~/Library/LaunchAgents/com.x.plist")
    """,
}

BENIGN = {
    "read bashrc": """
        from pathlib import Path
        text = (Path.home() / ".bashrc").read_text()
    """,
    "open bashrc read mode": """
        import os
        with open(os.path.expanduser("~/.bashrc")) as f:
            lines = f.readlines()
    """,
    "crontab -l": """
        import subprocess
        out = subprocess.run(["crontab", "-l"], capture_output=True)
    """,
    "crontab -l shell": """
        import subprocess
        out = subprocess.check_output("crontab -l 2>/dev/null", shell=True)
    """,
    "own config": """
        from pathlib import Path
        (Path.home() / ".config" / "myplugin" / "settings.json").write_text("{}")
    """,
    "list autostart": """
        from pathlib import Path
        entries = list((Path.home() / ".config" / "autostart").glob("*.desktop"))
    """,
    "read run key": r"""
        import winreg
        key = winreg.OpenKey(winreg.HKEY_CURRENT_USER, r"Software\Microsoft\Windows\CurrentVersion\Run")
        value = winreg.QueryValueEx(key, "x")
    """,
    "set unrelated registry value": r"""
        import winreg
        key = winreg.CreateKey(winreg.HKEY_CURRENT_USER, r"Software\MyPlugin")
        winreg.SetValueEx(key, "theme", 0, winreg.REG_SZ, "dark")
    """,
    "write a .profile elsewhere": """
        def save(folder):
            open(folder + "/report.profile", "w").write("x")
    """,
    "systemctl status": """
        import subprocess
        subprocess.run(["systemctl", "--user", "status", "x.service"])
    """,
    "write unknown path": """
        def save(path, data):
            with open(path, "w") as f:
                f.write(data)
    """,
}


@pytest.mark.parametrize("name", sorted(MALICIOUS))
def test_flags_persistence(name: str) -> None:
    found = hits(MALICIOUS[name])
    assert found, name
    assert all(severity == "high" for severity, _ in found), found


@pytest.mark.parametrize("name", sorted(BENIGN))
def test_ignores_benign_lookalikes(name: str) -> None:
    assert hits(BENIGN[name]) == []


def test_shell_completion_installer_only_warns() -> None:
    found = hits(
        """
        from pathlib import Path
        def install_completion(prog):
            rc = Path.home() / ".bashrc"
            rc.write_text(rc.read_text() + f"source ~/.bash_completions/{prog}.sh  # completion")
        """
    )
    assert [severity for severity, _ in found] == ["medium"]


def test_sitecustomize_outside_site_packages_only_warns() -> None:
    found = hits(
        """
        import os
        def isolated_env(prefix):
            with open(os.path.join(prefix, "site", "sitecustomize.py"), "w") as f:
                f.write("import site")
        """
    )
    assert [severity for severity, _ in found] == ["medium"]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("~/.config/autostart/x.desktop", True),
        ("/etc/cron.daily/x", True),
        ("/var/spool/cron/crontabs/root", True),
        ("~/.bashrc", True),
        ("/home/alice/.profile", True),
        ("?/.profile", False),
        ("~/.config/myplugin/x.json", False),
        ("C:\\Users\\a\\AppData\\Roaming\\Microsoft\\Windows\\Start Menu\\Programs\\Startup\\x.lnk", True),
        ("~/Library/LaunchAgents/com.x.plist", True),
        ("$TMP/x.desktop", False),
    ],
)
def test_locations(path: str, expected: bool) -> None:
    assert (location_of(path) is not None) is expected
