# Benign look-alike: deletes the plugin's own cache folder under ~/.cache, never the home directory itself.
import shutil
from pathlib import Path

CACHE = Path.home() / ".cache" / "plugyard-notes"


def clear_cache():
    if CACHE.exists():
        shutil.rmtree(CACHE)
    return CACHE
