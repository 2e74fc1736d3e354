# Benign look-alike: executes the plugin's bundled schema.sql with sqlite3.executescript and loads a zlib-compressed JSON word list from a .dat resource.
import json
import pkgutil
import sqlite3
import zlib


def open_db(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    schema = pkgutil.get_data(__package__, "data/schema.sql").decode("utf-8")
    conn.executescript(schema)
    return conn


def load_words() -> list[str]:
    return json.loads(zlib.decompress(pkgutil.get_data(__package__, "data/words.dat")))


class Plugin:
    def __init__(self, db_path: str = ":memory:"):
        self.db = open_db(db_path)
        self.db.executemany("INSERT OR IGNORE INTO words(word) VALUES (?)", [(w,) for w in load_words()])
        self.db.commit()
