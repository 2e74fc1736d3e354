# Benign look-alike: registers a global hotkey that toggles the plugin window.
import keyboard


def register(toggle) -> None:
    keyboard.add_hotkey("ctrl+alt+t", toggle)
