# Benign look-alike: pynput global hotkeys mapped to plugin actions (no raw key capture).
from pynput import keyboard


def start(actions: dict) -> keyboard.GlobalHotKeys:
    hotkeys = keyboard.GlobalHotKeys({"<ctrl>+<alt>+s": actions["summarize"], "<ctrl>+<alt>+c": actions["count"]})
    hotkeys.start()
    return hotkeys
