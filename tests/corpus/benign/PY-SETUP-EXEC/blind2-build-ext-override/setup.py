# Benign look-alike: a custom build_ext that tweaks compiler flags for a C accelerator and falls back to pure Python if compilation fails.
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    def build_extensions(self):
        flags = ["/O2"] if self.compiler.compiler_type == "msvc" else ["-O3", "-fvisibility=hidden"]
        for ext in self.extensions:
            ext.extra_compile_args = flags
        try:
            super().build_extensions()
        except Exception as exc:  # compiler missing: keep the pure-Python implementation
            sys.stderr.write(f"warning: C speedups not built ({exc})\n")


setup(
    name="sample",
    version="2.1.0",
    packages=["sample"],
    ext_modules=[Extension("sample._speedups", ["sample/_speedups.c"])],
    cmdclass={"build_ext": OptionalBuildExt},
)
