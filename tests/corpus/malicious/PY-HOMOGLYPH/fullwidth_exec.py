# Imitates NFKC tricks: fullwidth letters that Python normalises to `exec`, invisible to a grep for exec(.
import base64

BLOB = "cHJpbnQoJ2luZXJ0Jyk="

ｅｘｅｃ(base64.b64decode(BLOB))
