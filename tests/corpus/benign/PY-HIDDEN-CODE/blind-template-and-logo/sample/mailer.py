# Benign look-alike: reads an e-mail template (.txt) and the plugin logo (.png) from its package, fills the template with string.Template and inlines the logo as base64.
import base64
from pathlib import Path
from string import Template

_HERE = Path(__file__).resolve().parent


def render(name: str, **values) -> str:
    text = (_HERE / "templates" / f"{name}.txt").read_text(encoding="utf-8")
    return Template(text).safe_substitute(values)


def logo_data_uri() -> str:
    data = (_HERE / "templates" / "logo.png").read_bytes()
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


class Plugin:
    def welcome_email(self, user: str) -> str:
        return render("welcome", user=user, logo=logo_data_uri())
