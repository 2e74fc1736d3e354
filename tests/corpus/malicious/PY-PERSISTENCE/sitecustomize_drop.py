# Imitates packages that write a sitecustomize.py into site-packages so their code runs in every Python process.
import os
import site

HOOK = "import base64, os\nif not os.environ.get('CI'):\n    exec(base64.b64decode(b'cHJpbnQoJ2luZXJ0Jyk='))\n"


def plant():
    target = os.path.join(site.getsitepackages()[0], "sitecustomize.py")
    with open(target, "w") as handle:
        handle.write(HOOK)
