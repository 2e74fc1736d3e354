# Benign look-alike: encrypts a user-chosen folder into a separate backup folder (walk + Fernet), deleting nothing.
import os

from cryptography.fernet import Fernet


def backup(source: str, destination: str, key: bytes) -> int:
    fernet = Fernet(key)
    count = 0
    for folder, _dirs, files in os.walk(source):
        for name in files:
            src = os.path.join(folder, name)
            rel = os.path.relpath(src, source)
            out = os.path.join(destination, rel + ".enc")
            os.makedirs(os.path.dirname(out), exist_ok=True)
            with open(src, "rb") as reader, open(out, "wb") as writer:
                writer.write(fernet.encrypt(reader.read()))
            count += 1
    return count
