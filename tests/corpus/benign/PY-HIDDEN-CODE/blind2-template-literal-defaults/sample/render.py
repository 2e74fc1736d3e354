# Benign look-alike: loads bundled text templates and a literal-only defaults file (.txt) parsed with ast.literal_eval; nothing is executed.
import ast
from pathlib import Path
from string import Template

HERE = Path(__file__).parent


def defaults() -> dict:
    return ast.literal_eval((HERE / "templates" / "defaults.txt").read_text())


def render(name: str, **values) -> str:
    tpl = Template((HERE / "templates" / f"{name}.txt").read_text())
    return tpl.safe_substitute({**defaults(), **values})


class Plugin:
    def activate(self, host):
        host.register_command("new-readme", lambda: host.insert_text(render("readme", project=host.project_name)))
