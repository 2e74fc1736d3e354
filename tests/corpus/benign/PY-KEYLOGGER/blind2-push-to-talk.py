# Benign look-alike: push-to-talk for a voice-notes plugin; pynput GlobalHotKeys toggles recording, no keystrokes are stored.
from pynput import keyboard


class PushToTalk:
    def __init__(self, recorder):
        self.recorder = recorder
        self.hotkeys = keyboard.GlobalHotKeys({"<ctrl>+<alt>+r": self.toggle})

    def toggle(self):
        if self.recorder.active:
            self.recorder.stop()
        else:
            self.recorder.start()

    def start(self):
        self.hotkeys.start()

    def stop(self):
        self.hotkeys.stop()


class Plugin:
    def activate(self, host):
        self.ptt = PushToTalk(host.audio_recorder)
        self.ptt.start()
