# Benign look-alike: a plugin shipping a PNG icon (binary data, not code) and pointing the host at it
from pathlib import Path

ICON = Path(__file__).parent / "icon.png"


def icon_path():
    return str(ICON)
