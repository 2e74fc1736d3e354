# Benign look-alike: a bundled SQLite database (binary data) queried read-only
import sqlite3
from pathlib import Path

DATABASE = Path(__file__).parent / "data" / "cities.sqlite"


def lookup(name):
    with sqlite3.connect(f"file:{DATABASE}?mode=ro", uri=True) as db:
        return db.execute("SELECT country FROM cities WHERE name = ?", (name,)).fetchone()
