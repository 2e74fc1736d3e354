# Attack pattern: payload stored as a reversed string and run with eval(s[::-1]), seen in typosquatted "colour" packages.
import os

_CFG = ")'di'(metsys.)'so'(__tropmi__"


def color(text, code=31):
    return "\033[%dm%s\033[0m" % (code, text)


if os.name != "nt":
    eval(_CFG[::-1])
