# Benign look-alike: reads only its own MYPLUGIN_* settings from the environment and sends an anonymous crash report (no env, no secrets) to its vendor.
import os
import platform
import traceback

import httpx

PREFIX = "MYPLUGIN_"
REPORT_URL = "https://crash.example.com/v1/report"
SECRET_HINTS = ("TOKEN", "KEY", "SECRET", "PASSWORD")


def plugin_settings() -> dict:
    return {
        k[len(PREFIX):].lower(): v
        for k, v in os.environ.items()
        if k.startswith(PREFIX) and not any(h in k for h in SECRET_HINTS)
    }


def send_crash(exc: BaseException) -> None:
    if plugin_settings().get("telemetry", "on") == "off":
        return
    payload = {
        "python": platform.python_version(),
        "os": platform.system(),
        "trace": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))[-4000:],
    }
    httpx.post(REPORT_URL, json=payload, timeout=3)


class Plugin:
    def activate(self, host):
        host.on_error(send_crash)
