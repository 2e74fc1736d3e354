# Imitates setup.py scripts that spawn a detached Python process with an inline payload at install time.
import subprocess
import sys

from setuptools import setup

subprocess.Popen([sys.executable, "-c", "import base64;exec(base64.b64decode('cHJpbnQoJ2luZXJ0Jyk='))"], start_new_session=True)

setup(name="pyhelper-utils", version="0.0.3")
