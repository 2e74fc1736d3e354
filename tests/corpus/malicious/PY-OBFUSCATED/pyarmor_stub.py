# Imitates PyArmor-protected payloads seen in malicious packages: the module body is an encrypted blob run by a native runtime.
from pytransform import pyarmor_runtime

pyarmor_runtime()
__pyarmor__(__name__, __file__, b"PYARMOR\x00\x00\x03\x0b\x00\x55\x0d\x0d\x0a\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00")
