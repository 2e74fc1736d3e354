"""The loader on a real bus: install verified versions, run them sandboxed, invoke them, reload, recover, stop on quarantine."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from eth_account import Account
from nats.errors import NoRespondersError

from plugyard_core.rpc import RpcError
from plugyard_loader import loader as loader_module, sandbox_plan
from plugyard_schemas.loader import InstallReply, InstallRequest, LoadRequest, PluginReply, PsReply, PsRequest, ReloadRequest, UnloadRequest
from tests.loader.conftest import HOST, Stack
from tests.loader.support import publish_verdict, until_status, write_plugin
from tests.registry.scans import cloudevent, scan_data, send_scan


async def until(predicate, timeout: float = 15.0, what: str = "condition"):
    deadline = asyncio.get_running_loop().time() + timeout
    while not (value := predicate()):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
    return value


async def installed_and_loaded(stack: Stack, tmp_path: Path, name: str = "greeter", version: str = "1.0.0", account=None) -> PluginReply:
    await publish_verdict(stack.nc, tmp_path, write_plugin(tmp_path / "src", name, version), account=account)
    install = await stack.rpc("install", InstallRequest(requirements=[name]), InstallReply)
    assert [(i.name, i.version, i.newly_installed) for i in install.installed] == [(name, version, True)]
    return await stack.rpc("load", LoadRequest(name=name), PluginReply)


async def test_install_load_invoke_and_ps(stack: Stack, tmp_path: Path) -> None:
    loaded = await installed_and_loaded(stack, tmp_path)
    assert loaded.plugin.state == "running" and loaded.plugin.pid
    assert all(loaded.plugin.layers[layer] == "active" for layer in ("network", "landlock", "seccomp", "rlimits", "env", "user", "disk"))

    reply = await stack.invoke("greeter", "hello", {"name": "caller"})
    assert reply["result"]["greeting"] == "Hello, caller"
    assert reply["result"]["pid"] == loaded.plugin.pid  # the worker answered, not the host

    ps = await stack.rpc("ps", PsRequest(), PsReply)
    [status] = ps.plugins
    assert (status.name, status.version, status.state, status.calls, status.errors) == ("greeter", "1.0.0", "running", 1, 0)
    assert status.rss_bytes and status.rss_bytes > 0
    assert set(status.actions) == {"hello", "fail", "sleep", "crash"}

    again = await stack.rpc("install", InstallRequest(requirements=["greeter"]), InstallReply)
    assert not again.installed[0].newly_installed
    await until(lambda: stack.of_type("PluginLoaded"), what="PluginLoaded on the bus")
    [installed] = stack.of_type("PluginInstalled")
    assert (installed["name"], installed["version"], installed["host"], installed["status"]) == ("greeter", "1.0.0", HOST, "cleared")
    assert stack.of_type("PluginLoaded")[0]["layers"]["landlock"] == "active"


async def test_calls_run_concurrently_and_errors_are_typed(stack: Stack, tmp_path: Path) -> None:
    await installed_and_loaded(stack, tmp_path)
    replies = await asyncio.gather(*(stack.invoke("greeter", "sleep", {"seconds": 0.3}) for _ in range(20)))
    assert all(r["result"]["slept"] == 0.3 for r in replies)

    failed = await stack.invoke("greeter", "fail")
    assert failed["error"] == {"code": "on_purpose", "message": "it failed on purpose", "details": {"why": "test"}}
    unknown = await stack.invoke("greeter", "nope")
    assert unknown["error"]["code"] == "unknown_action"
    bad_args = await stack.invoke("greeter", "hello", {"nom": "x"})
    assert bad_args["error"]["code"] == "invalid_arguments"

    timed_out = await stack.invoke("greeter", "sleep", {"seconds": 3}, timeout=0.3)
    assert timed_out["error"]["code"] == "timeout"
    assert (await stack.invoke("greeter", "hello", {"name": "after"}))["result"]["greeting"] == "Hello, after"


@pytest.mark.parametrize(
    ("raw", "headers_timeout", "wanted"),
    [
        (b"{not json", None, "not JSON"),
        (b"[1, 2]", None, "JSON object"),
        (b"{}", "soon", "not a number"),
        (b"{}", "-1", "above 0"),
    ],
)
async def test_malformed_invocations_get_clear_errors(stack: Stack, tmp_path: Path, raw: bytes, headers_timeout, wanted: str) -> None:
    await installed_and_loaded(stack, tmp_path)
    headers = {"Plugyard-Timeout": headers_timeout} if headers_timeout else None
    msg = await stack.nc.request("plugyard.rpc.plugin.greeter.hello", raw, timeout=5, headers=headers)
    error = json.loads(msg.data)["error"]
    assert error["code"] == "invalid_request" and wanted in error["message"]
    assert (await stack.invoke("greeter", "hello", {"name": "still"}))["result"]["greeting"] == "Hello, still"


async def test_malformed_loader_requests_are_refused_by_name(stack: Stack) -> None:
    for verb in ("install", "load", "unload", "reload", "ps"):
        msg = await stack.nc.request(f"plugyard.rpc.loader.{HOST}.{verb}", b"\xff garbage", timeout=5)
        assert json.loads(msg.data)["error"]["code"] == "invalid_request", verb
    with pytest.raises(RpcError, match="not installed"):
        await stack.rpc("load", LoadRequest(name="absent"), PluginReply)
    with pytest.raises(RpcError, match="not loaded"):
        await stack.rpc("unload", UnloadRequest(name="absent"), PluginReply)


async def test_only_cleared_or_warned_versions_install(stack: Stack, tmp_path: Path) -> None:
    await publish_verdict(stack.nc, tmp_path, write_plugin(tmp_path / "src", "bad-one"), verdict="quarantined")
    with pytest.raises(RpcError) as refused:
        await stack.rpc("install", InstallRequest(requirements=["bad-one"]), InstallReply)
    assert "quarantined" in refused.value.message
    assert not (stack.data_dir / "loader" / "cache" / "plugins" / "bad-one").exists()


async def test_reload_under_load_fails_no_call(stack: Stack, tmp_path: Path) -> None:
    first = await installed_and_loaded(stack, tmp_path)
    failures: list[dict] = []
    calls = 0
    stop = asyncio.Event()

    async def caller() -> None:
        nonlocal calls
        while not stop.is_set():
            reply = await stack.invoke("greeter", "hello", {"name": "x"})
            calls += 1
            if "error" in reply:
                failures.append(reply)

    callers = [asyncio.create_task(caller()) for _ in range(4)]
    pids = {first.plugin.pid}
    for _ in range(20):
        reloaded = await stack.rpc("reload", ReloadRequest(name="greeter"), PluginReply)
        pids.add(reloaded.plugin.pid)
    stop.set()
    await asyncio.gather(*callers)
    assert failures == [] and calls > 20
    assert len(pids) == 21  # every reload started a fresh worker
    await until(lambda: len(stack.of_type("PluginReloaded")) == 20, what="20 PluginReloaded events")


async def test_upgrade_switches_to_the_newer_version(stack: Stack, tmp_path: Path) -> None:
    publisher = Account.create()
    await installed_and_loaded(stack, tmp_path, account=publisher)
    await publish_verdict(stack.nc, tmp_path, write_plugin(tmp_path / "src", "greeter", "1.1.0"), account=publisher)
    await stack.rpc("install", InstallRequest(requirements=["greeter==1.1.0"]), InstallReply)
    upgraded = await stack.rpc("reload", ReloadRequest(name="greeter", version="1.1.0"), PluginReply)
    assert upgraded.plugin.version == "1.1.0"
    assert (await stack.invoke("greeter", "hello", {"name": "x"}))["result"]["version"] == "1.1.0"


async def test_crashes_restart_with_backoff_then_open_the_circuit(stack: Stack, tmp_path: Path, monkeypatch) -> None:
    first = await installed_and_loaded(stack, tmp_path)
    crashed = await stack.invoke("greeter", "crash")
    assert crashed["error"]["code"] == "crashed"
    # The next call waits for the restarted worker instead of failing.
    after = await stack.invoke("greeter", "hello", {"name": "back"})
    assert after["result"]["pid"] != first.plugin.pid
    await until(lambda: stack.of_type("PluginCrashed"), what="PluginCrashed")
    assert stack.of_type("PluginCrashed")[0]["next_start_in_s"] is not None

    for _ in range(6):  # the default circuit opens at 5 crashes within 60 s
        reply = await stack.invoke("greeter", "crash")
        if reply["error"]["code"] == "failed":
            break
        await stack.invoke("greeter", "hello", {"name": "x"})
    ps = await stack.rpc("ps", PsRequest(), PsReply)
    assert ps.plugins[0].state == "failed"
    refused = await stack.invoke("greeter", "hello", {"name": "x"})
    assert refused["error"]["code"] == "failed" and "plugyard load greeter" in refused["error"]["message"]
    await until(lambda: stack.of_type("PluginFailed"), what="PluginFailed")

    reset = await stack.rpc("load", LoadRequest(name="greeter"), PluginReply)
    assert reset.plugin.state == "running"
    assert (await stack.invoke("greeter", "hello", {"name": "x"}))["result"]["greeting"] == "Hello, x"


async def test_a_quarantined_version_is_stopped_everywhere(stack: Stack, tmp_path: Path) -> None:
    await installed_and_loaded(stack, tmp_path)
    release_cid = json.loads((stack.data_dir / "loader" / "cache" / "plugins" / "greeter" / "1.0.0" / "installed.json").read_text())["cid"]
    await send_scan(stack.nc, cloudevent(scan_data("greeter", "1.0.0", release_cid, "quarantined", "found later", scan_no=2)))
    await until_status(stack.nc, "greeter", "1.0.0", "quarantined")
    await until(lambda: stack.of_type("PluginUnloaded"), what="PluginUnloaded")
    assert "quarantined" in stack.of_type("PluginUnloaded")[0]["reason"]
    with pytest.raises(RpcError, match="quarantined"):
        await stack.rpc("load", LoadRequest(name="greeter"), PluginReply)


async def test_telemetry_samples_each_worker(stack: Stack, tmp_path: Path) -> None:
    loaded = await installed_and_loaded(stack, tmp_path)
    await stack.invoke("greeter", "hello", {"name": "x"})
    samples: list[dict] = []

    async def collect(msg) -> None:
        samples.append(json.loads(msg.data))

    sub = await stack.nc.subscribe(f"plugyard.tel.{HOST}.greeter", cb=collect)
    await until(lambda: samples, what="a telemetry sample")
    await sub.unsubscribe()
    sample = samples[0]
    assert sample["pid"] == loaded.plugin.pid and sample["rss_bytes"] > 0 and sample["threads"] >= 1
    assert sample["actions"]["hello"]["calls"] == 1


SNOOPER = '''
from plugyard_sdk import action


class Plugin:
    @action
    def snoop(self, path: str) -> dict:
        try:
            with open(path) as f:
                return {"read": f.read()}
        except OSError as exc:
            return {"blocked": str(exc)}
'''


async def test_violations_quarantine_the_version_through_the_registry(stack: Stack, tmp_path: Path) -> None:
    await publish_verdict(stack.nc, tmp_path, write_plugin(tmp_path / "src", "snooper", source=SNOOPER))
    await stack.rpc("install", InstallRequest(requirements=["snooper"]), InstallReply)
    await stack.rpc("load", LoadRequest(name="snooper"), PluginReply)
    secret = tmp_path / "secret.txt"
    secret.write_text("s3cret")
    first = await stack.invoke("snooper", "snoop", {"path": str(secret)})
    assert "blocked" in first["result"]
    await stack.invoke("snooper", "snoop", {"path": "/etc/shadow"})  # the second violation reaches the default limit of 2
    await until_status(stack.nc, "snooper", "1.0.0", "quarantined")
    await until(lambda: stack.of_type("PluginUnloaded"), what="the loader stopping the quarantined version")
    violations = stack.of_type("PermissionViolation")
    assert [v["count"] for v in violations] == [1, 2] and violations[0]["target"] == str(secret)
    ps = await stack.rpc("ps", PsRequest(), PsReply)
    assert ps.plugins == []
    with pytest.raises(NoRespondersError):
        await stack.nc.request("plugyard.rpc.plugin.snooper.snoop", b"{}", timeout=5)


async def test_malformed_quarantine_events_change_nothing(stack: Stack, tmp_path: Path) -> None:
    await installed_and_loaded(stack, tmp_path)
    for garbage in (b"not json", b"{}", json.dumps({"data": {"name": "greeter"}}).encode(), json.dumps({"data": "x"}).encode()):
        await stack.nc.publish("plugyard.evt.registry.VersionQuarantined", garbage)
    await stack.nc.flush()
    await asyncio.sleep(0.2)
    assert (await stack.invoke("greeter", "hello", {"name": "x"}))["result"]["greeting"] == "Hello, x"
    ps = await stack.rpc("ps", PsRequest(), PsReply)
    assert [p.state for p in ps.plugins] == ["running"]


USES_LIBRARY = '''
from plugyard_sdk import action


class Plugin:
    @action
    def shout(self, text: str) -> dict:
        import base_lib  # a required plugin is a library of its dependent, on its path read-only
        return {"text": base_lib.shout(text)}
'''


async def test_required_plugins_install_with_it_and_are_importable(stack: Stack, tmp_path: Path) -> None:
    library = write_plugin(tmp_path / "src", "base-lib")
    (library / "base_lib" / "__init__.py").write_text((library / "base_lib" / "__init__.py").read_text() + "\n\ndef shout(text):\n    return text.upper() + '!'\n")
    await publish_verdict(stack.nc, tmp_path, library)
    await publish_verdict(stack.nc, tmp_path, write_plugin(tmp_path / "src", "uses-lib", source=USES_LIBRARY, requires=("base-lib>=1.0",)))
    installed = await stack.rpc("install", InstallRequest(requirements=["uses-lib"]), InstallReply)
    assert [i.name for i in installed.installed] == ["base-lib", "uses-lib"]
    await stack.rpc("load", LoadRequest(name="uses-lib"), PluginReply)
    assert (await stack.invoke("uses-lib", "shout", {"text": "hi"}))["result"] == {"text": "HI!"}


USES_SIX = '''
from plugyard_sdk import action


class Plugin:
    @action
    def six_version(self) -> dict:
        import six  # installed by the loader beside the plugin, from PyPI
        return {"version": six.__version__, "where": six.__file__}
'''


async def test_pypi_dependencies_install_beside_the_plugin(stack: Stack, tmp_path: Path) -> None:
    folder = write_plugin(tmp_path / "src", "uses-six", source=USES_SIX)
    manifest = folder / "plugin.toml"
    manifest.write_text(manifest.read_text().replace("requires = []", 'requires = []\ndependencies = ["six==1.16.0"]'))
    await publish_verdict(stack.nc, tmp_path, folder)
    [installed] = (await stack.rpc("install", InstallRequest(requirements=["uses-six"]), InstallReply, timeout=300)).installed
    assert installed.dependencies == ["six==1.16.0"]
    await stack.rpc("load", LoadRequest(name="uses-six"), PluginReply)
    result = (await stack.invoke("uses-six", "six_version"))["result"]
    assert result["version"] == "1.16.0" and "/uses-six/1.0.0/deps/" in result["where"]


SPINNER = '''
from plugyard_sdk import action


class Plugin:
    @action
    def spin(self) -> dict:
        while True:
            pass

    @action
    def ping(self) -> dict:
        return {"pong": True}
'''


async def test_a_worker_clogged_by_abandoned_calls_is_replaced(stack: Stack, tmp_path: Path) -> None:
    loaded = await installed_and_loaded_source(stack, tmp_path, "spinner", SPINNER)
    replies = await asyncio.gather(*(stack.invoke("spinner", "spin", {}, timeout=0.3) for _ in range(20)))
    assert {r["error"]["code"] for r in replies} == {"timeout"}
    await until(lambda: stack.of_type("PluginReloaded"), what="the clogged worker replaced")
    answer = await stack.invoke("spinner", "ping", {}, timeout=10)
    assert answer == {"result": {"pong": True}}
    ps = await stack.rpc("ps", PsRequest(), PsReply)
    assert ps.plugins[0].pid != loaded.plugin.pid


async def installed_and_loaded_source(stack: Stack, tmp_path: Path, name: str, source: str) -> PluginReply:
    await publish_verdict(stack.nc, tmp_path, write_plugin(tmp_path / "src", name, source=source))
    await stack.rpc("install", InstallRequest(requirements=[name]), InstallReply)
    return await stack.rpc("load", LoadRequest(name=name), PluginReply)


async def test_a_required_layer_that_cannot_be_applied_refuses_the_plugin(stack: Stack, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PLUGYARD_SANDBOX_REQUIRE", "landlock,user")
    for module in (loader_module, sandbox_plan):  # no user to drop to, as on a host that is not root
        monkeypatch.setattr(module, "drop_ids", lambda name: (None, None))
    await publish_verdict(stack.nc, tmp_path, write_plugin(tmp_path / "src", "greeter"))
    await stack.rpc("install", InstallRequest(requirements=["greeter"]), InstallReply)
    with pytest.raises(RpcError) as refused:
        await stack.rpc("load", LoadRequest(name="greeter"), PluginReply)
    assert "required sandbox layer" in refused.value.message and "user" in refused.value.message
    assert (await stack.rpc("ps", PsRequest(), PsReply)).plugins == []


async def test_a_reload_lets_a_long_call_finish_on_the_old_worker(stack: Stack, tmp_path: Path) -> None:
    first = await installed_and_loaded(stack, tmp_path)
    long_call = asyncio.create_task(stack.invoke("greeter", "sleep", {"seconds": 7}, timeout=20))
    await asyncio.sleep(0.3)
    reloaded = await stack.rpc("reload", ReloadRequest(name="greeter"), PluginReply, timeout=30)
    assert reloaded.plugin.pid != first.plugin.pid
    assert (await long_call)["result"] == {"slept": 7, "pid": first.plugin.pid}  # drained past 5 s, not killed and sent again
    ps = await stack.rpc("ps", PsRequest(), PsReply)
    assert ps.plugins[0].calls == 1


async def test_installed_code_is_compiled_once_at_install(stack: Stack, tmp_path: Path) -> None:
    await installed_and_loaded(stack, tmp_path)
    files = stack.data_dir / "loader" / "cache" / "plugins" / "greeter" / "1.0.0" / "files"
    assert list(files.glob("greeter/__pycache__/__init__.*.pyc")), "the plugin's modules were not compiled at install"
