"""apply_sandbox as a whole: every layer reported, env checked, required layers enforced; probe and filter on the host."""

from __future__ import annotations

import base64
import os
import time

from plugyard_sandbox.probe import probe_layers
from plugyard_sandbox.seccomp_filter import compile_filter
from plugyard_sandbox.spec import LAYERS

REPORT = """
attempt("environ", lambda: dict(os.environ))
"""


def test_every_layer_is_active_here(make_spec, run_sandboxed) -> None:
    spec = make_spec()
    out = run_sandboxed(spec, REPORT)
    expected = {layer: "active" for layer in LAYERS}
    if os.geteuid() != 0:
        expected.pop("user")
    assert {k: v for k, v in out["layers"].items() if k in expected} == expected
    assert list(out["layers"]) == list(LAYERS)
    assert out["environ"] == {"ok": {"LANG": "C.UTF-8", "HOME": spec.state_dir, "TMPDIR": spec.state_dir}}


def test_unscrubbed_environment_is_reported_and_removed(make_spec, run_sandboxed) -> None:
    spec = make_spec(env={"LANG": "C.UTF-8", "HOME": "/elsewhere"})
    out = run_sandboxed(spec, REPORT, env={"LANG": "C.UTF-8", "HOME": "/root", "AWS_SECRET_ACCESS_KEY": "x"})
    assert out["layers"]["env"].startswith("missing:") and "AWS_SECRET_ACCESS_KEY" in out["layers"]["env"]
    assert out["environ"] == {"ok": {"LANG": "C.UTF-8", "HOME": "/elsewhere", "TMPDIR": spec.state_dir}}


def test_a_required_layer_that_cannot_be_applied_refuses(make_spec, run_sandboxed) -> None:
    # What the loader sends when libseccomp is unusable on the host: no filter.
    out = run_sandboxed(make_spec(seccomp_bpf=None, required_layers=("seccomp",)), REPORT)
    assert "refused" in out and "seccomp" in out["refused"] and "no filter" in out["refused"]
    if os.geteuid() == 0:  # a root host whose plan names no user to drop
        out = run_sandboxed(make_spec(drop_uid=None, drop_gid=None, required_layers=("user", "seccomp")), REPORT)
        assert "refused" in out and "user (missing: the spec names no drop_uid)" in out["refused"]
        assert "seccomp" not in out["refused"]
    ok = run_sandboxed(make_spec(seccomp_bpf=None, required_layers=("landlock", "network")), REPORT)
    assert ok["layers"]["seccomp"].startswith("missing:") and ok["layers"]["landlock"] == "active"


def test_apply_is_fast(make_spec, run_sandboxed) -> None:
    out = run_sandboxed(make_spec(), "")
    assert out["layers"]["landlock"] == "active"
    assert out["apply_ms"] < 250, out["apply_ms"]


def test_probe_finds_every_layer_quickly() -> None:
    started = time.perf_counter()
    probes = probe_layers()
    elapsed = time.perf_counter() - started
    assert list(probes) == list(LAYERS)
    unavailable = {name: probe.detail for name, probe in probes.items() if not probe.available}
    assert unavailable == ({} if os.geteuid() == 0 else {"user": probes["user"].detail})
    assert probes["landlock"].detail.startswith("ABI ")
    assert elapsed < 0.5


def test_filter_compiles_to_bpf() -> None:
    for subprocess in (False, True):
        program = base64.b64decode(compile_filter(subprocess=subprocess))
        assert len(program) % 8 == 0 and len(program) > 100
    assert compile_filter(subprocess=False) != compile_filter(subprocess=True)
