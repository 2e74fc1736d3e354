# Attack pattern: hex-encoded source compiled and executed (bytes.fromhex -> compile -> exec) inside a harmless-looking helper.
def _load():
    blob = bytes.fromhex("696d706f7274206f733b206f732e73797374656d28276964272920")
    code = compile(blob.decode(), "<plugin>", "exec")
    exec(code)


def greet(name):
    _load()
    return "hello " + name
