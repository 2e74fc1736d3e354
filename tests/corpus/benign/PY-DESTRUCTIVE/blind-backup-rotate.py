# Benign look-alike: a backup tool that walks a chosen project directory, copies files into a dated backup folder and prunes (rmtree) old backups of its own.
import os
import shutil
import time
from pathlib import Path

BACKUP_ROOT = Path.home() / ".local" / "share" / "project-backup"


def backup(source: Path) -> Path:
    dest = BACKUP_ROOT / time.strftime("%Y%m%d-%H%M%S")
    for base, dirs, files in os.walk(source):
        dirs[:] = [d for d in dirs if d not in {".git", "__pycache__", "node_modules"}]
        rel = Path(base).relative_to(source)
        (dest / rel).mkdir(parents=True, exist_ok=True)
        for name in files:
            shutil.copy2(os.path.join(base, name), dest / rel / name)
    return dest


def prune(keep: int = 5) -> list[Path]:
    snapshots = sorted(p for p in BACKUP_ROOT.iterdir() if p.is_dir())
    removed = snapshots[:-keep] if len(snapshots) > keep else []
    for old in removed:
        shutil.rmtree(old)
    return removed


class Plugin:
    def run(self, project: str) -> str:
        dest = backup(Path(project).expanduser())
        prune()
        return str(dest)
