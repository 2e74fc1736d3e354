"""A host that is not root: the layers come from a user namespace of the worker's own, and `user` is missing."""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import socket
import tempfile
from pathlib import Path

import pytest

from plugyard_sandbox.apply import apply_sandbox

NOBODY = 65534
PR_SET_DUMPABLE = 4


def _in_child_as_nobody(spec) -> dict:
    """Fork, become an ordinary user (as a non-root host runs), apply the sandbox, report through a pipe."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_end)
            os.setgroups([])
            os.setresgid(NOBODY, NOBODY, NOBODY)
            os.setresuid(NOBODY, NOBODY, NOBODY)
            ctypes.CDLL(None).prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)  # as if started unprivileged, not setuid from root
            result = {"layers": apply_sandbox(spec), "uid": os.getuid(), "interfaces": [n for _, n in socket.if_nameindex()]}
            for name, path in (("write_state", os.path.join(spec.state_dir, "x")), ("write_tmp", "/tmp/plugyard-nobody-escape")):
                try:
                    with open(path, "w"):
                        result[name] = "ok"
                except OSError as exc:
                    result[name] = exc.errno
            try:
                os.fork()
                result["fork"] = "ok"
            except OSError as exc:
                result["fork"] = exc.errno
            os.write(write_end, json.dumps(result).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    return json.loads(data)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become an ordinary user for the test")
def test_unprivileged_host_gets_every_layer_but_user(make_spec) -> None:
    base = Path(tempfile.mkdtemp(prefix="plugyard-nobody-"))  # pytest's tmp_path is below a 0700 folder
    try:
        base.chmod(0o755)
        (base / "plugin").mkdir()
        (base / "state").mkdir()
        os.chown(base / "state", NOBODY, NOBODY)
        # The forked child keeps pytest's environment, so that is the spec's.
        spec = make_spec(drop_uid=None, drop_gid=None, env=dict(os.environ), plugin_dir=str(base / "plugin"),
                         state_dir=str(base / "state"))
        out = _in_child_as_nobody(spec)
    finally:
        shutil.rmtree(base)
    assert out["layers"]["user"].startswith("missing:")
    assert {k: v for k, v in out["layers"].items() if k != "user"} == dict.fromkeys(
        ("network", "landlock", "seccomp", "rlimits", "env"), "active")
    assert out["uid"] == NOBODY
    assert out["interfaces"] == ["lo"]
    assert out["write_state"] == "ok" and out["write_tmp"] == 13 and out["fork"] == 1
