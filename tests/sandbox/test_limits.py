"""rlimits: a too large allocation fails, a too large file fails with EFBIG instead of killing the worker."""

from __future__ import annotations

import errno

from plugyard_sandbox.spec import Limits

from .conftest import denied


def test_memory_and_file_size_limits(make_spec, run_sandboxed) -> None:
    spec = make_spec(limits=Limits(memory_bytes=512 << 20, file_size_bytes=1 << 20))
    code = """
import resource

def allocate():
    return len(bytearray(1 << 30))

def write_big():
    fd = os.open(os.path.join(spec.state_dir, "big.bin"), os.O_WRONLY | os.O_CREAT)
    try:
        written = 0
        while written < 4 << 20:
            written += os.write(fd, b"x" * (256 << 10))
    finally:
        os.close(fd)

attempt("allocate", allocate)
attempt("small_allocation", lambda: len(bytearray(64 << 20)))
attempt("write_big", write_big)
attempt("size", lambda: os.path.getsize(os.path.join(spec.state_dir, "big.bin")))
attempt("core", lambda: resource.getrlimit(resource.RLIMIT_CORE))
attempt("raise_nofile", lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (100_000, 100_000)))
"""
    out = run_sandboxed(spec, code)
    assert out["layers"]["rlimits"] == "active"
    assert out["allocate"]["error"] == "MemoryError"
    assert out["small_allocation"] == {"ok": 64 << 20}
    assert denied(out["write_big"], errno.EFBIG)
    assert out["size"] == {"ok": 1 << 20}
    assert out["core"] == {"ok": [0, 0]}
    assert denied(out["raise_nofile"])
