# Benign look-alike: clears the plugin's own cache under ~/.cache/<plugin> (rmtree) and deletes its temp files older than a week via os.walk + os.remove.
import os
import shutil
import tempfile
import time
from pathlib import Path

CACHE = Path.home() / ".cache" / "thumbnailer"
TMP = Path(tempfile.gettempdir()) / "thumbnailer"
WEEK = 7 * 24 * 3600


def clear_cache() -> None:
    if CACHE.is_dir():
        shutil.rmtree(CACHE)
    CACHE.mkdir(parents=True, exist_ok=True)


def purge_old_temp(max_age: float = WEEK) -> int:
    removed = 0
    now = time.time()
    for base, _dirs, files in os.walk(TMP):
        for name in files:
            path = os.path.join(base, name)
            if now - os.path.getmtime(path) > max_age:
                os.remove(path)
                removed += 1
    return removed


class Plugin:
    def maintenance(self) -> dict:
        clear_cache()
        return {"temp_removed": purge_old_temp()}
