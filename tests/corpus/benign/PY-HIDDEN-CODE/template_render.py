# Benign look-alike: reads a text template and fills it with string.Template; compiles a regex, not code.
import re
import string
from pathlib import Path

TEMPLATE = Path(__file__).with_name("report.txt.tmpl")
PLACEHOLDER = re.compile(r"\$\w+")


def render(values):
    text = TEMPLATE.read_text(encoding="utf-8")
    missing = [name[1:] for name in PLACEHOLDER.findall(text) if name[1:] not in values]
    return string.Template(text).safe_substitute(values), missing
