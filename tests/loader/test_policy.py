"""The loader's policy settings: which sandbox layers are required, when violations quarantine, the crash circuit;
a wrong setting stops the loader at start with one line naming it (exit 78), never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from plugyard_loader.runner import CrashPolicy
from plugyard_loader.sandbox_plan import PlanError, required_layers
from plugyard_loader.violations import ViolationPolicy
from plugyard_sandbox.spec import LAYERS


def test_required_layers_parse_names_and_all() -> None:
    assert required_layers({}) == ()
    assert required_layers({"PLUGYARD_SANDBOX_REQUIRE": "landlock, seccomp"}) == ("landlock", "seccomp")
    assert required_layers({"PLUGYARD_SANDBOX_REQUIRE": "all"}) == LAYERS
    with pytest.raises(PlanError, match="unknown layers apparmor"):
        required_layers({"PLUGYARD_SANDBOX_REQUIRE": "landlock,apparmor"})


def test_violation_policy_quarantines_once_at_the_limit(monkeypatch) -> None:
    policy = ViolationPolicy()
    assert [policy.quarantines_at(n) for n in (1, 2, 3)] == [False, True, False]
    assert not any(ViolationPolicy(limit=0).quarantines_at(n) for n in range(1, 5))
    monkeypatch.setenv("PLUGYARD_LOADER_VIOLATION_LIMIT", "many")
    with pytest.raises(ValueError, match="not a whole number"):
        ViolationPolicy.from_env()


def test_crash_backoff_doubles_up_to_its_ceiling() -> None:
    policy = CrashPolicy(first_backoff_s=0.5, max_backoff_s=4.0)
    assert [policy.backoff(n) for n in (1, 2, 3, 4, 5, 6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


@pytest.mark.parametrize(("variable", "value", "named"), [
    ("PLUGYARD_SANDBOX_REQUIRE", "landlock,selinux", "selinux"),
    ("PLUGYARD_LOADER_VIOLATION_LIMIT", "-1", "PLUGYARD_LOADER_VIOLATION_LIMIT"),
])
def test_a_bad_setting_stops_the_loader_with_one_line(tmp_path, variable: str, value: str, named: str) -> None:
    env = {**os.environ, variable: value, "PLUGYARD_DATA_DIR": str(tmp_path), "PLUGYARD_NATS_URL": "nats://127.0.0.1:1"}
    done = subprocess.run([sys.executable, "-m", "plugyard_loader"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 78, done.stderr
    assert named in done.stderr and "Traceback" not in done.stderr


def test_disk_volume_settings_and_missing_tools(tmp_path, monkeypatch) -> None:
    from plugyard_loader import state_volume

    monkeypatch.setenv("PLUGYARD_PLUGIN_DISK_MB", "4")
    with pytest.raises(ValueError, match="at least 8"):
        state_volume.size_mb()
    monkeypatch.setattr(state_volume.shutil, "which", lambda program: None if program == "mkfs.ext4" else "/bin/" + program)
    volumes = state_volume.StateVolumes(tmp_path / "images", 16)
    status = volumes.ensure("some-plugin", tmp_path / "state" / "some-plugin", None, None)
    assert status == "missing: 'mkfs.ext4' is not installed" or status.startswith("missing: the loader does not run as root")
    assert not volumes.mounted


def test_a_volume_is_mounted_once_and_released(tmp_path) -> None:
    from plugyard_loader import state_volume

    if os.geteuid() != 0:
        pytest.skip("mounting a volume needs root; this run is not root")
    volumes = state_volume.StateVolumes(tmp_path / "images", 16)
    state = tmp_path / "state" / "vol-plugin"
    assert volumes.ensure("vol-plugin", state, 200123, 200123) == "active"
    assert volumes.ensure("vol-plugin", state, 200123, 200123) == "active"
    assert state_volume.mounted_under(tmp_path / "state") == [str(state)]
    assert state.stat().st_uid == 200123  # the volume's root belongs to the plugin's own user
    volumes.release_all()
    assert state_volume.mounted_under(tmp_path / "state") == []
