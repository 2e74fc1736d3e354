"""Log routing in a fresh interpreter: `logging` is routed to log frames when first imported, not before."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from plugyard_worker.frames import FrameDecoder
from plugyard_worker.runtime import stage_runtime

CODE = """
import os, sys
sys.path.insert(0, sys.argv[1])
from plugyard_worker.output import EventWriter, route_output
lines = route_output(EventWriter(int(sys.argv[2])))
assert "logging" not in sys.modules
print("printed")
from plugyard_sdk import get_logger
get_logger("late").info("logged after a late import")
import logging
logging.getLogger("plugyard.plugin.other").debug("below INFO: dropped")
sys.stdout.flush()
"""


def test_logging_is_routed_when_first_imported(tmp_path: Path) -> None:
    staged = stage_runtime(tmp_path)
    read, write = os.pipe()
    try:
        subprocess.run([sys.executable, "-I", "-S", "-c", CODE, str(staged), str(write)], pass_fds=(write,), check=True, timeout=30)
    finally:
        os.close(write)
    try:
        data = b""
        while chunk := os.read(read, 1 << 16):
            data += chunk
    finally:
        os.close(read)
    logs = [(m["level"], m["logger"], m["message"]) for m in FrameDecoder().feed(data) if m["op"] == "log"]
    assert logs == [("INFO", "stdout", "printed"), ("INFO", "plugyard.plugin.late", "logged after a late import")]
