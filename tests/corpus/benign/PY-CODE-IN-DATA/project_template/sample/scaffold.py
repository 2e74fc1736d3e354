# Benign look-alike: a scaffolding plugin that copies a Python file template (module.py-tpl) into a new project.
from pathlib import Path

TEMPLATE = Path(__file__).parent / "templates" / "module.py-tpl"


def scaffold(target: Path, tool: str) -> Path:
    out = target / "main.py"
    out.write_text(TEMPLATE.read_text().replace("{{ tool }}", tool))
    return out
