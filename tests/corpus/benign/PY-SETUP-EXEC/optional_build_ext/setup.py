# Benign look-alike: overrides build_ext (not install) so an optional C speed-up may fail to compile.
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    def run(self):
        try:
            build_ext.run(self)
        except Exception:
            print("C extension not built; using the pure-Python fallback")


setup(
    name="plugyard-fastjson",
    version="0.3.0",
    packages=["sample"],
    ext_modules=[Extension("sample._speedups", ["sample/_speedups.c"])],
    cmdclass={"build_ext": OptionalBuildExt},
)
