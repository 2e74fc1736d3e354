# Benign look-alike: "clear cache" command that deletes only this plugin's own cache directory under the user's home.
import shutil
from pathlib import Path

CACHE = Path.home() / ".cache" / "my-plugin"


def clear_cache() -> int:
    if not CACHE.exists():
        return 0
    freed = sum(f.stat().st_size for f in CACHE.rglob("*") if f.is_file())
    shutil.rmtree(CACHE, ignore_errors=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    return freed


class Plugin:
    def activate(self, host):
        host.register_command("clear-cache", lambda: host.notify(f"freed {clear_cache()} bytes"))
