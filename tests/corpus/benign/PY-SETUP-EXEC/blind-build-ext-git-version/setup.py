# Benign look-alike: a C-extension setup.py that derives its version from `git describe` and customises build_ext to add compiler flags (a very common legitimate pattern).
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


def git_version() -> str:
    try:
        out = subprocess.check_output(["git", "describe", "--tags", "--always"], stderr=subprocess.DEVNULL, text=True)
        return out.strip().lstrip("v").replace("-", "+", 1).replace("-", ".")
    except (OSError, subprocess.CalledProcessError):
        return "0.0.0"


class BuildExt(build_ext):
    def build_extensions(self):
        flags = ["/O2"] if self.compiler.compiler_type == "msvc" else ["-O3", "-fvisibility=hidden"]
        for ext in self.extensions:
            ext.extra_compile_args = flags
        super().build_extensions()


setup(
    name="sample",
    version=git_version(),
    packages=["sample"],
    ext_modules=[Extension("sample._speedups", ["sample/_speedups.c"])],
    cmdclass={"build_ext": BuildExt},
    zip_safe=False,
    python_requires=">=3.9" if sys.version_info >= (3,) else None,
)
