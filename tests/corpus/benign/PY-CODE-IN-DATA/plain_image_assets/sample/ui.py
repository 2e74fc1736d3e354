# Benign look-alike: reads the plugin's logo (a plain PNG, nothing appended) to show it.
import base64
from pathlib import Path


def logo_data_uri():
    data = (Path(__file__).parent / "assets" / "logo.png").read_bytes()
    return "data:image/png;base64," + base64.b64encode(data).decode()
