# Pattern: packages dropping a DLL named like a system library next to a program so Windows loads it instead (DLL side-loading)
import ctypes
from pathlib import Path

LIBRARY = Path(__file__).parent / "lib" / "version.dll"


def init():
    return ctypes.WinDLL(str(LIBRARY))
