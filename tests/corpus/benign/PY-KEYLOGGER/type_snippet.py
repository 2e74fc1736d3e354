# Benign look-alike: types a text snippet with pynput's keyboard controller (sends keys, does not capture them).
from pynput.keyboard import Controller

keyboard = Controller()


def type_snippet(text: str) -> None:
    keyboard.type(text)
