# Benign look-alike: decodes a hex-encoded Python literal and reads it with ast.literal_eval (data only, never code).
import ast
import binascii


def parse_token(token: str):
    text = binascii.unhexlify(token).decode("ascii")
    return ast.literal_eval(text)


def reverse_words(sentence: str) -> str:
    return " ".join(sentence.split()[::-1])
