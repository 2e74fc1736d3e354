# Benign look-alike: registers a global hotkey (Ctrl+Shift+Space) to open the command palette, using the `keyboard` library.
import keyboard


class Plugin:
    HOTKEY = "ctrl+shift+space"

    def activate(self, host):
        self._handle = keyboard.add_hotkey(self.HOTKEY, host.open_command_palette, suppress=False)

    def deactivate(self, host):
        keyboard.remove_hotkey(self._handle)
