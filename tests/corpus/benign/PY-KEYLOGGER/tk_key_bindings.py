# Benign look-alike: a tkinter editor binding key events of its own window and saving the document.
import tkinter


class Editor:
    def __init__(self, path: str):
        self.path = path
        self.root = tkinter.Tk()
        self.text = tkinter.Text(self.root)
        self.text.bind("<Control-s>", self.save)
        self.text.bind("<Key>", self.on_key)
        self.dirty = False

    def on_key(self, event):
        self.dirty = True

    def save(self, event=None):
        with open(self.path, "a") as handle:
            handle.write(self.text.get("1.0", "end"))
