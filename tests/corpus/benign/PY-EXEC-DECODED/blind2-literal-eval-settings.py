# Benign look-alike: settings are passed in a base64 query-string blob and parsed with ast.literal_eval; user formulas are compiled in "eval" mode against a whitelist.
import ast
import base64
import codecs
import math

_ALLOWED = {name: getattr(math, name) for name in ("sqrt", "log", "sin", "cos", "pi")}


def decode_settings(blob: str) -> dict:
    text = base64.urlsafe_b64decode(blob.encode()).decode("utf-8")
    value = ast.literal_eval(text)
    if not isinstance(value, dict):
        raise ValueError("settings must be a dict")
    return value


def easter_egg() -> str:
    return codecs.decode("Uryyb, cyhtva hfre!", "rot13")


def evaluate_formula(expr: str, **variables) -> float:
    tree = ast.parse(expr, mode="eval")
    for node in ast.walk(tree):
        if isinstance(node, (ast.Attribute, ast.Lambda, ast.Subscript)):
            raise ValueError("unsupported syntax")
        if isinstance(node, ast.Name) and node.id not in _ALLOWED and node.id not in variables:
            raise ValueError(f"unknown name {node.id}")
    code = compile(tree, "<formula>", "eval")
    return eval(code, {"__builtins__": {}}, {**_ALLOWED, **variables})


class Plugin:
    def activate(self, host):
        host.register_command("calc", evaluate_formula)
