# Benign look-alike: reads a data table from a .txt resource and parses it with ast.literal_eval (no code runs).
import ast
import pkgutil


def table():
    raw = pkgutil.get_data(__name__, "data/units.txt").decode("utf-8")
    return ast.literal_eval(raw)
