# Benign look-alike: a tkinter "copy" button that puts text on the clipboard.
import tkinter


def copy_to_clipboard(root: tkinter.Tk, text: str) -> None:
    root.clipboard_clear()
    root.clipboard_append(text)
    root.update()
