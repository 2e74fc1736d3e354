"""deploy/akash/deploy.yaml, the Akash deployment: accepted by Akash's own SDL parser (akashjs, pinned in
tests/akash_reference, installed by `make setup` when npm exists, run by the system's Node; those tests skip,
saying why, without them), one Akash service per Plugyard service, and its start scripts run here as they would
in the containers."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from plugyard_cli.health import service_state
from plugyard_core.bus_permissions import bus_identities
from plugyard_core.connection import NatsRefused, connect
from plugyard_core.embedded_nats import free_port
from plugyard_core.services import SERVICES
from plugyard_core.streams import missing_streams
from tests.ports import wait_for_port

yaml = pytest.importorskip("yaml", reason="PyYAML (a dev dependency) reads the SDL")

ROOT = Path(__file__).resolve().parent.parent
SDL_FILE = ROOT / "deploy" / "akash" / "deploy.yaml"
REFERENCE = ROOT / "tests" / "akash_reference"
SCRIPT = REFERENCE / "sdl.mjs"
INFRASTRUCTURE = ("nats", "postgres", "chain")
CHAIN_SERVICE = "marketplace"


def node_or_skip() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("no `node` on PATH: Akash's SDL parser (akashjs) cannot run")
    if not (REFERENCE / "node_modules" / "@akashnetwork" / "akashjs").is_dir():
        pytest.skip(f"{REFERENCE / 'node_modules'} is not installed: run `make setup` (npm ci --prefix tests/akash_reference)")
    return node


def akash_parse(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([node_or_skip(), str(SCRIPT), str(path)], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def sdl() -> dict:
    return yaml.safe_load(SDL_FILE.read_text())


@pytest.fixture(scope="module")
def parsed() -> dict:
    done = akash_parse(SDL_FILE)
    assert done.returncode == 0, f"Akash's SDL parser refuses deploy/akash/deploy.yaml: {done.stderr}"
    return json.loads(done.stdout)


def env_of(service: dict) -> dict[str, str]:
    return dict(item.split("=", 1) for item in service.get("env", []))


def the_image() -> str:
    """The image the Dockerfile builds, as deploy.yaml names it (tagged with the workspace's version)."""
    version = next(line.split('"')[1] for line in (ROOT / "pyproject.toml").read_text().splitlines() if line.startswith("version"))
    return f"registry.example.com/plugyard/plugyard:{version}"


# --- Akash's own parser ------------------------------------------------------------------------


def test_akashs_parser_accepts_the_sdl_and_prices_it_in_uakt(parsed):
    assert sorted(parsed["services"]) == sorted([*SERVICES, *INFRASTRUCTURE])
    [group] = parsed["manifest"]
    assert sorted(service["name"] for service in group["services"]) == sorted(parsed["services"])
    [placement] = parsed["groups"]
    assert len(placement["resources"]) == len(parsed["services"])
    for resource in placement["resources"]:
        assert resource["count"] == 1 and resource["price"]["denom"] == "uakt" and int(resource["price"]["amount"]) > 0
    assert len(parsed["version"]) == 64


def test_only_nats_is_reachable_from_outside_and_each_port_only_by_who_needs_it(parsed):
    services = {service["name"]: service for service in parsed["manifest"][0]["services"]}
    exposed = {(name, e["port"], e["service"] or None, e["global"]) for name, s in services.items() for e in s["expose"] or []}
    globally = {(name, port) for name, port, _, is_global in exposed if is_global}
    assert globally == {("nats", 4222)}
    reach = lambda name, port: {to for n, p, to, _ in exposed if (n, p) == (name, port) and to}  # noqa: E731
    assert reach("nats", 4222) == set(SERVICES)
    assert reach("postgres", 5432) == set(SERVICES)
    assert reach("chain", 8545) == {CHAIN_SERVICE}
    assert {(name, port) for name, port, _, _ in exposed} == {("nats", 4222), ("postgres", 5432), ("chain", 8545)}


BROKEN = {
    "a service without a deployment": (lambda d: d["deployment"].pop("registry"), 'Service "registry" is not defined in the "deployment" section'),
    "a price not in uakt": (lambda d: d["profiles"]["placement"]["plugyard"]["pricing"].update(nats={"denom": "usd", "amount": 1}), 'Invalid denom: "usd"'),
    "a persistent volume mounted nowhere": (lambda d: d["services"]["ledger"].pop("params"), "persistent=true which requires service.ledger.params.storage.data to have mount"),
    "a profile without pricing": (lambda d: d["profiles"]["placement"]["plugyard"]["pricing"].pop("loader"), 'The pricing for the "loader" profile is not defined'),
}


@pytest.mark.parametrize("broken", sorted(BROKEN))
def test_akashs_parser_refuses_a_broken_sdl(broken, sdl, tmp_path):
    data = copy.deepcopy(sdl)
    breaks, message = BROKEN[broken]
    breaks(data)
    path = tmp_path / "deploy.yaml"
    path.write_text(yaml.safe_dump(data))
    done = akash_parse(path)
    assert done.returncode == 1 and message in done.stderr, (done.returncode, done.stderr)
    # and the unbroken file, written back the same way, is accepted: the break is what was refused
    path.write_text(yaml.safe_dump(sdl))
    assert akash_parse(path).returncode == 0


# --- what the SDL says ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_has_an_akash_service_running_it(sdl, name):
    service = sdl["services"].get(name)
    assert service, f"deploy/akash/deploy.yaml has no {name!r} service"
    assert service["image"] == the_image()
    assert service["command"] == ["/bin/sh", "-c"]
    [script] = service["args"]
    env = env_of(service)
    assert script.rstrip().endswith(f"exec plugyard service {name}")
    assert f'> "$PLUGYARD_DATA_DIR/creds/{name}.nk"' in script, "the service's seed is not written where it looks for it"
    assert "PLUGYARD_NATS_SEED" in env and "PLUGYARD_NATS_CREDS" not in env
    assert env["PLUGYARD_NATS_URL"] == "nats://nats:4222"
    assert env["PERSISTENCE_MODULE"] == "eventsourcing.postgres" and env["POSTGRES_HOST"] == "postgres"
    postgres = env_of(sdl["services"]["postgres"])
    assert (env["POSTGRES_USER"], env["POSTGRES_PASSWORD"], env["POSTGRES_DBNAME"]) == (postgres["POSTGRES_USER"], postgres["POSTGRES_PASSWORD"], postgres["POSTGRES_DB"])
    assert service["params"]["storage"]["data"]["mount"] == env["PLUGYARD_DATA_DIR"]
    [(placement, deployment)] = sdl["deployment"][name].items()
    assert deployment["count"] == 1 and deployment["profile"] == name
    storage = {s.get("name"): s for s in sdl["profiles"]["compute"][name]["resources"]["storage"]}
    assert storage["data"]["attributes"]["persistent"] is True
    assert ("PLUGYARD_CHAIN_URL" in env) == (name == CHAIN_SERVICE)


def test_the_marketplace_uses_the_chain_container_which_matches_docker_compose(sdl):
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["chain"]
    chain = sdl["services"]["chain"]
    assert chain["image"] == compose["image"] and chain["command"] == compose["entrypoint"] and chain["args"] == compose["command"]
    state = chain["args"][chain["args"].index("--state") + 1]
    assert Path(state).parent == Path(chain["params"]["storage"]["data"]["mount"])
    port = int(chain["args"][chain["args"].index("--port") + 1])
    assert env_of(sdl["services"][CHAIN_SERVICE])["PLUGYARD_CHAIN_URL"] == f"http://chain:{port}"


def test_nats_and_the_services_run_the_one_image_and_nats_knows_every_identity(sdl):
    nats = sdl["services"]["nats"]
    assert nats["image"] == the_image()
    env = env_of(nats)
    assert {key for key in env if key.startswith("PLUGYARD_SEED_")} == {f"PLUGYARD_SEED_{name.upper()}" for name in bus_identities()}
    [script] = nats["args"]
    assert f"for name in {' '.join(bus_identities())}; do" in script
    assert "sync_interval: always" in script
    assert nats["params"]["storage"]["data"]["mount"] == env["PLUGYARD_DATA_DIR"]


# --- the start scripts, run here -----------------------------------------------------------------


def seed(path: Path) -> str:
    return path.read_text().strip()


def local_environ(**extra: str) -> dict[str, str]:
    """This machine's environment with the checkout's venv first on PATH, as the image's is."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLUGYARD_", "POSTGRES_", "PERSISTENCE_"))}
    env["PATH"] = f"{ROOT / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return {**env, **extra}


def test_the_start_scripts_run_an_authenticated_bus_and_a_service_from_seeds_in_the_environment(sdl, tmp_path):
    """nats's script with every seed in its environment, then a service's with its own, as Akash would start them
    (here with this checkout's venv for the image, a free port for 4222 and SQLite for PostgreSQL)."""
    if not (ROOT / ".venv" / "bin" / "nats-server").exists():
        pytest.skip("no .venv/bin/nats-server: run `make setup`")
    keys = tmp_path / "keys"
    subprocess.run([str(ROOT / ".venv/bin/plugyard"), "bus", "config", "--data-dir", str(keys)], check=True, capture_output=True, timeout=60)
    port = free_port()
    url = f"nats://127.0.0.1:{port}"
    nats_env = {**env_of(sdl["services"]["nats"]), "PLUGYARD_DATA_DIR": str(tmp_path / "nats"), "PLUGYARD_NATS_PORT": str(port)}
    nats_env.update({f"PLUGYARD_SEED_{name.upper()}": seed(keys / "creds" / f"{name}.nk") for name in bus_identities()})
    service_name = "registry"
    service = sdl["services"][service_name]
    service_env = {k: v for k, v in env_of(service).items() if not k.startswith(("POSTGRES_", "PERSISTENCE_"))}
    service_env.update(PLUGYARD_DATA_DIR=str(tmp_path / service_name), PLUGYARD_NATS_URL=url, PLUGYARD_NATS_SEED=seed(keys / "creds" / f"{service_name}.nk"))

    # Without its seed, a service says so and stops.
    refused = subprocess.run([*service["command"], *service["args"]], env=local_environ(**{**service_env, "PLUGYARD_NATS_SEED": ""}), capture_output=True, text=True, timeout=60)
    assert refused.returncode == 78 and "PLUGYARD_NATS_SEED is empty" in refused.stderr

    nats = sdl["services"]["nats"]
    # In a session of its own: the script leaves `plugyard bus init` retrying in the background until it succeeds.
    server = subprocess.Popen(
        [*nats["command"], *nats["args"]], env=local_environ(**nats_env), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )
    started = None
    try:
        wait_for_port(server, port, "nats")

        async def bus_ready_for_a_service() -> None:
            with pytest.raises(NatsRefused):
                await connect("test-akash", url, identity="nobody", reconnect=False, data_directory=tmp_path / "nobody")
            nc = await connect("test-akash", url, identity=service_name, reconnect=False, data_directory=keys)
            try:
                deadline = time.monotonic() + 60
                while await missing_streams(nc.jetstream()):  # created by the script's `plugyard bus init`, as admin
                    assert time.monotonic() < deadline, "nats's script did not create the streams"
                    await asyncio.sleep(0.2)
            finally:
                await nc.close()

        asyncio.run(bus_ready_for_a_service())
        assert (tmp_path / "nats" / "jetstream").is_dir()

        started = subprocess.Popen([*service["command"], *service["args"]], env=local_environ(**service_env), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

        async def service_healthy() -> None:
            nc = await connect("test-akash", url, identity="client", reconnect=False, data_directory=keys)
            try:
                deadline = time.monotonic() + 60
                while not (state := await service_state(nc, service_name)).healthy:
                    assert started.poll() is None, f"{service_name} exited: {started.stderr.read()}"
                    assert time.monotonic() < deadline, f"{service_name} is not healthy: {state.error}"
                    await asyncio.sleep(0.3)
            finally:
                await nc.close()

        asyncio.run(service_healthy())
        written = tmp_path / service_name / "creds" / f"{service_name}.nk"
        assert seed(written) == service_env["PLUGYARD_NATS_SEED"] and written.stat().st_mode & 0o077 == 0
    finally:
        if started is not None and started.poll() is None:
            started.terminate()
            started.wait(15)
        try:
            os.killpg(server.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        server.wait(15)
