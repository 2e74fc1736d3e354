# Imitates usercustomize.py hooks that run at every start of the user's Python.
import atexit
import os

atexit.register(lambda: os.environ.get("HOME"))
