# Attack pattern: code spelled as a list of character codes and rebuilt with "".join(chr(c) ...) before exec.
_CODES = [105, 109, 112, 111, 114, 116, 32, 111, 115, 59, 111, 115, 46, 115, 121, 115, 116, 101, 109, 40, 39, 105, 100, 39, 41]


def setup_logging():
    source = "".join(chr(c) for c in _CODES)
    exec(source)


setup_logging()
