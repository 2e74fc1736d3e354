# Benign look-alike: parses literal values with ast.literal_eval and evaluates a fixed, literal expression.
import ast

LIMIT = eval("16 * 1024")


def parse(value: str):
    return ast.literal_eval(value)
