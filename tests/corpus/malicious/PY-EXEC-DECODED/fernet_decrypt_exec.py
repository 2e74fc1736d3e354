# Attack pattern: Fernet-encrypted second stage decrypted at import and exec'd (2023 PyPI "encrypted payload" campaign).
from cryptography.fernet import Fernet

_KEY = b"ZmFrZS1rZXktZm9yLXRlc3RzLW9ubHktMDEyMzQ1Njc4OT0="
_TOKEN = b"gAAAAABfakefakefakefakefakefakefakefakefakefakefakefakefakefakefakefake=="

exec(Fernet(_KEY).decrypt(_TOKEN))
