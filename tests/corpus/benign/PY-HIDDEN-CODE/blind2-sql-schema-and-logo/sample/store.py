# Benign look-alike: runs a bundled schema.sql through sqlite3.executescript and serves the bundled logo as a data URI.
import base64
import sqlite3
from pathlib import Path

HERE = Path(__file__).parent


def open_db(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    conn.executescript((HERE / "assets" / "schema.sql").read_text())
    return conn


def logo_data_uri() -> str:
    return "data:image/png;base64," + base64.b64encode((HERE / "assets" / "logo.png").read_bytes()).decode()


class Plugin:
    def activate(self, host):
        self.db = open_db(host.data_dir / "bookmarks.db")
        host.set_icon(logo_data_uri())
