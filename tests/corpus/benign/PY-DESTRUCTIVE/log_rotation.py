# Benign look-alike: rotates the plugin's own logs under ~/.local/state/<plugin>/logs, deleting only old log files there.
import os
import time

LOG_DIR = os.path.join(os.path.expanduser("~"), ".local", "state", "plugyard-notes", "logs")


def rotate(max_age_days=14):
    cutoff = time.time() - max_age_days * 86400
    for name in os.listdir(LOG_DIR):
        path = os.path.join(LOG_DIR, name)
        if name.endswith(".log") and os.path.getmtime(path) < cutoff:
            os.remove(path)
