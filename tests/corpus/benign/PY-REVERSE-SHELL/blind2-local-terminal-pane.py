# Benign look-alike: an embedded terminal pane that spawns the user's shell on a local pseudo-terminal and relays it to the editor widget.
import os
import pty
import select
import subprocess


class TerminalPane:
    def __init__(self, widget):
        self.widget = widget
        self.master, slave = pty.openpty()
        shell = os.environ.get("SHELL", "/bin/sh")
        self.proc = subprocess.Popen([shell, "-l"], stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
        os.close(slave)

    def pump(self):
        ready, _, _ = select.select([self.master], [], [], 0.05)
        if ready:
            self.widget.append(os.read(self.master, 4096).decode(errors="replace"))

    def send(self, keys: str):
        os.write(self.master, keys.encode())


class Plugin:
    def activate(self, host):
        host.register_panel("terminal", lambda widget: TerminalPane(widget))
