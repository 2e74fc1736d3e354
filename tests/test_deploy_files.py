"""The deploy files at the repo root: docker-compose.yml, Dockerfile, .dockerignore and Tiltfile (deploy/akash has
its own test, test_akash_sdl.py).

No Docker engine and no Tilt here, so: Debian's `docker-compose` checks the compose file (it parses
without an engine), a Starlark interpreter evaluates the Tiltfile with Tilt's builtins recorded, and what
the Tiltfile would run is run from the checkout that `make setup` built.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from plugyard_core.connection import NatsRefused, connect
from plugyard_core.streams import missing_streams
from plugyard_core.embedded_nats import free_port
from plugyard_core.services import SERVICES as PLATFORM_SERVICES
from plugyard_cli.chain_node import anvil_argv
from tests.ports import wait_for_port

ROOT = Path(__file__).resolve().parent.parent
# Every service of the platform must have its container and its Tilt resource: adding one fails here until it does.
SERVICES = list(PLATFORM_SERVICES)
# The one service that talks to a chain, and what runs the local development chain for it.
CHAIN_SERVICE = "marketplace"
# Where `make setup` installs anvil from npm (tools/anvil) for `plugyard up` and Tilt.
ANVIL = ".venv/anvil/node_modules/.bin/anvil"
ANVIL_VERSION = json.loads((ROOT / "tools/anvil/package.json").read_text())["dependencies"]["@foundry-rs/anvil-linux-amd64"]


def options(argv: list[str]) -> dict[str, str | None]:
    """`--flag value` and bare `--flag` pairs of a command line, by flag."""
    found: dict[str, str | None] = {}
    for i, arg in enumerate(argv):
        if arg.startswith("--"):
            following = argv[i + 1] if i + 1 < len(argv) else None
            found[arg] = None if following is None or following.startswith("--") else following
    return found


def anvil_options(argv: list[str]) -> dict[str, str | None]:
    """The options `plugyard up` starts anvil with (plugyard_cli.chain_node), for comparison."""
    return options(argv[1:])


# --- docker-compose.yml -------------------------------------------------------------------------


def compose_command() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    return None


@pytest.fixture(scope="module")
def compose() -> dict:
    yaml = pytest.importorskip("yaml", reason="PyYAML (a dev dependency) reads docker-compose.yml")
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def named_volume_at(service: dict, compose: dict, target: str) -> str | None:
    for mount in service.get("volumes", []):
        source, _, rest = mount.partition(":")
        if rest.split(":")[0] == target and source in (compose.get("volumes") or {}):
            return source
    return None


def test_docker_compose_accepts_the_compose_file():
    command = compose_command()
    if command is None:
        pytest.skip("neither docker-compose nor `docker compose` is installed (.ci/run apt-installs docker-compose)")
    result = subprocess.run([*command, "-f", "docker-compose.yml", "config", "-q"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_has_a_container_running_it(compose, name):
    service = compose["services"].get(name)
    assert service, f"docker-compose.yml has no {name!r} container"
    assert service["command"] == ["service", name]
    env = service["environment"]
    assert env["PLUGYARD_NATS_URL"] == "nats://nats:4222"
    assert env["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
    assert env["POSTGRES_HOST"] == "postgres"
    assert named_volume_at(service, compose, env["PLUGYARD_DATA_DIR"]), f"{name}'s data dir is not on a named volume"
    assert {dep: spec["condition"] for dep, spec in service["depends_on"].items()} == {
        "nats": "service_healthy",
        "postgres": "service_healthy",
        "bus-init": "service_completed_successfully",
        **({"chain": "service_healthy"} if name == CHAIN_SERVICE else {}),
    }
    assert env["PLUGYARD_NATS_CREDS"] == f"/bus/creds/{name}.nk"
    assert "bus-creds:/bus:ro" in service["volumes"]
    assert service["healthcheck"]["test"] == ["CMD", "plugyard", "status", "--json"]


def test_every_build_uses_the_one_dockerfile_and_builds_only_services(compose):
    builds = {name: spec["build"] for name, spec in compose["services"].items() if "build" in spec}
    assert sorted(builds) == sorted([*SERVICES, "bus", "bus-init"])
    for name, build in builds.items():
        context, dockerfile = (build, "Dockerfile") if isinstance(build, str) else (build.get("context", "."), build.get("dockerfile", "Dockerfile"))
        assert (ROOT / context).resolve() == ROOT and dockerfile == "Dockerfile", name


def test_nats_runs_jetstream_with_every_write_synced(compose, tmp_path):
    nats = compose["services"]["nats"]
    version = re.fullmatch(r"nats:(\d+)\.(\d+)[-.\w]*", nats["image"])
    assert version and (int(version[1]), int(version[2])) >= (2, 12), nats["image"]
    script = " ".join(nats["entrypoint"] + nats["command"])
    written = re.search(r"cat > (\S+) <<'EOF'\n(.*?)\nEOF\n", script, re.S)
    assert written, "the nats container does not write its config"
    assert f"exec nats-server -c {written[1]}" in script
    config = written[2]
    jetstream = re.search(r"^jetstream\s*\{(.*?)^\}", config, re.S | re.M)
    assert jetstream and re.search(r"^\s*sync_interval:\s*always\s*$", jetstream[1], re.M), config
    store_dir = re.search(r"^\s*store_dir:\s*(\S+)\s*$", jetstream[1], re.M)
    assert store_dir and named_volume_at(nats, compose, store_dir[1]), "the JetStream store is not on a named volume"
    # The same layout as in the containers: the config in one folder, the bus volume's authorization beside it.
    include = re.search(r"^include (\S+)$", config, re.M)
    assert include, "the nats config does not include the bus's authorization block"
    (tmp_path / "tmp").mkdir()
    (tmp_path / "tmp" / "nats.conf").write_text(config.replace(store_dir[1], str(tmp_path / "js")))
    bus = compose["services"]["bus"]["command"]
    subprocess.run([str(ROOT / ".venv/bin/plugyard"), *bus[:2], "--data-dir", str(tmp_path / "bus"), "--out", str((tmp_path / "tmp" / include[1]).resolve())], check=True, capture_output=True)
    check = subprocess.run([str(ROOT / ".venv/bin/nats-server"), "-t", "-c", str(tmp_path / "tmp" / "nats.conf")], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


def test_the_bus_containers_write_credentials_then_create_streams_as_admin(compose):
    bus, init = compose["services"]["bus"], compose["services"]["bus-init"]
    assert bus["command"] == ["bus", "config", "--data-dir", "/bus", "--out", "/bus/nats-auth.conf"]
    assert "bus-creds:/bus" in bus["volumes"]
    assert compose["services"]["nats"]["depends_on"] == {"bus": {"condition": "service_completed_successfully"}}
    assert init["command"] == ["bus", "init"] and init["environment"]["PLUGYARD_NATS_CREDS"] == "/bus/creds/admin.nk"


def test_the_chain_container_runs_anvil_for_the_marketplace_with_its_state_on_a_volume(compose, tmp_path):
    chain = compose["services"]["chain"]
    assert "build" not in chain, "the chain runs Foundry's image, not ours"
    # Pinned, and the same anvil release that `make setup` installs for `plugyard up`.
    assert chain["image"] == f"ghcr.io/foundry-rs/foundry:v{ANVIL_VERSION}"
    # The image's entrypoint is `/bin/sh -c`, which would run only the first word of a command list.
    assert chain["entrypoint"] == ["anvil"]
    flags = options(chain["command"])
    assert flags["--host"] == "0.0.0.0"
    state = flags["--state"]
    assert state and named_volume_at(chain, compose, str(Path(state).parent)), "anvil's state is not on a named volume"
    # The same chain as `plugyard up` runs, but for where it listens, where its state is and its log.
    local = anvil_options(anvil_argv(Path("anvil"), 8545, tmp_path))
    for flag in ("--host", "--port", "--state", "--silent"):
        local.pop(flag)
        flags.pop(flag, None)
    assert flags == local
    assert chain["healthcheck"]["test"] == ["CMD", "cast", "block-number", "--rpc-url", f"http://127.0.0.1:{options(chain['command'])['--port']}"]
    market = compose["services"][CHAIN_SERVICE]
    assert market["environment"]["PLUGYARD_CHAIN_URL"] == f"http://chain:{options(chain['command'])['--port']}"
    assert market["depends_on"]["chain"] == {"condition": "service_healthy"}
    # Only the marketplace talks to a chain.
    assert [name for name, spec in compose["services"].items() if "chain" in (spec.get("depends_on") or {})] == [CHAIN_SERVICE]
    assert [name for name, spec in compose["services"].items() if "PLUGYARD_CHAIN_URL" in (spec.get("environment") or {})] == [CHAIN_SERVICE]


def test_postgres_is_16_with_a_healthcheck_and_a_volume(compose):
    postgres = compose["services"]["postgres"]
    assert postgres["image"].split(":")[1].split(".")[0].split("-")[0] == "16"
    assert postgres["healthcheck"]["test"]
    assert named_volume_at(postgres, compose, "/var/lib/postgresql/data")


# --- Dockerfile and .dockerignore --------------------------------------------------------------


def dockerfile() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def test_dockerfile_base_install_user_and_entrypoint():
    steps = dockerfile()
    assert steps[0] == ("FROM", "python:3.11-slim")
    syncs = [args for op, args in steps if op == "RUN" and "uv sync" in args]
    assert syncs and all("--frozen" in args for args in syncs)
    makefile_uv = re.search(r"uv==[\d.]+", (ROOT / "Makefile").read_text())[0]
    assert any(op == "RUN" and makefile_uv in args for op, args in steps), f"the image does not install {makefile_uv}"
    users = [args for op, args in steps if op == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert [json.loads(args) for op, args in steps if op == "ENTRYPOINT"] == [["plugyard"]]


def test_every_path_the_dockerfile_copies_exists():
    copies = [args for op, args in dockerfile() if op in ("COPY", "ADD")]
    assert copies
    for args in copies:
        parts = json.loads(args) if args.startswith("[") else shlex.split(args)
        assert not any(p.startswith("--from") for p in parts), "COPY --from is not a path in the repo"
        sources = [p for p in parts[:-1] if not p.startswith("--")]
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: no such path in the repo"


def test_dockerignore_keeps_the_host_venv_out_and_the_workspace_in():
    patterns = {line.strip().rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines() if line.strip() and not line.startswith("#")}
    assert ".venv" in patterns
    assert not patterns & {"pyproject.toml", "uv.lock", "libs", "services", "schemas"}


# --- Tiltfile ------------------------------------------------------------------------------------


def as_list(value) -> list:
    return [value] if isinstance(value, str) else list(value or [])


def evaluate_tiltfile(environ: dict[str, str]) -> dict[str, dict]:
    """Run the Tiltfile as Tilt's Starlark would, with the builtins it uses recording their calls."""
    starlark = pytest.importorskip("starlark", reason="starlark-pyo3 (a dev dependency) evaluates the Tiltfile")
    resources: dict[str, dict] = {}

    # Tilt's parameter names, so that a misspelt one fails here as it would in Tilt.
    def local_resource(name, cmd="", deps=(), resource_deps=(), ignore=(), serve_cmd="", env=None, serve_env=None, readiness_probe=None, labels=()):
        assert name not in resources, f"two resources named {name!r}"
        resources[name] = {
            "cmd": cmd, "serve_cmd": serve_cmd, "deps": as_list(deps), "resource_deps": as_list(resource_deps),
            "env": env or {}, "serve_env": serve_env or {}, "readiness_probe": readiness_probe,
        }

    def probe(initial_delay_secs=0, timeout_secs=1, period_secs=10, success_threshold=1, failure_threshold=3, exec=None, http_get=None, tcp_socket=None):
        return {"exec": exec, "http_get": http_get, "tcp_socket": tcp_socket}

    def tcp_socket_action(port, host="localhost"):
        assert isinstance(port, int)
        return {"port": port, "host": host}

    module = starlark.Module()
    for builtin in (local_resource, probe, tcp_socket_action):
        module.add_callable(builtin.__name__, builtin)
    module.add_callable("_getenv", lambda key, default=None: environ.get(key, default))
    # Tilt's dialect (go.starlark.net as Tilt sets it up): top-level for/if allowed, no f-strings.
    dialect = starlark.Dialect.standard()
    dialect.enable_top_level_stmt = True
    builtins = starlark.Globals.extended_by([starlark.LibraryExtension.StructType])
    starlark.eval(module, starlark.parse("prelude", "os = struct(getenv = _getenv)", dialect), builtins)
    starlark.eval(module, starlark.parse("Tiltfile", (ROOT / "Tiltfile").read_text(), dialect), builtins)
    return resources


def argv(command: str | list[str]) -> list[str]:
    return shlex.split(command) if isinstance(command, str) else list(command)


def test_tiltfile_runs_setup_then_nats_then_each_service():
    resources = evaluate_tiltfile({})
    assert sorted(resources) == sorted(["setup", "nats", "bus-init", "chain", *SERVICES])
    assert resources["setup"]["cmd"] == "make setup"
    assert resources["nats"]["resource_deps"] == ["setup"]
    assert resources["bus-init"]["resource_deps"] == ["nats"]
    assert resources["bus-init"]["env"]["PLUGYARD_NATS_CREDS"].endswith("/creds/admin.nk")
    assert resources["nats"]["readiness_probe"]["tcp_socket"]["port"] == 4222
    for name in SERVICES:
        service = resources[name]
        assert service["serve_cmd"] == f".venv/bin/plugyard service {name}"
        assert set(service["resource_deps"]) == {"setup", "nats", "bus-init"} | ({"chain"} if name == CHAIN_SERVICE else set())
        assert service["serve_env"]["PLUGYARD_NATS_URL"] == "nats://127.0.0.1:4222"
        assert service["serve_env"]["PLUGYARD_NATS_CREDS"] == f".plugyard/creds/{name}.nk"
        assert f"services/{name}/src" in service["deps"]
        for dep in service["deps"]:
            assert (ROOT / dep).is_dir(), f"{name} watches {dep}, which does not exist"


def test_tiltfile_nats_port_can_be_overridden():
    resources = evaluate_tiltfile({"PLUGYARD_NATS_PORT": "4333"})
    assert resources["nats"]["readiness_probe"]["tcp_socket"]["port"] == 4333
    assert {resources[name]["serve_env"]["PLUGYARD_NATS_URL"] for name in SERVICES} == {"nats://127.0.0.1:4333"}


def test_tiltfile_chain_is_the_anvil_plugyard_up_runs_and_only_the_marketplace_uses_it(tmp_path):
    resources = evaluate_tiltfile({"PLUGYARD_DATA_DIR": str(tmp_path)})
    chain = resources["chain"]
    assert chain["resource_deps"] == ["setup"]
    assert chain["readiness_probe"]["tcp_socket"]["port"] == 8545
    # The same command line as `plugyard up` (state in <data dir>/chain), with the anvil `make setup` installs.
    assert argv(chain["serve_cmd"]) == anvil_argv(Path(ANVIL), 8545, tmp_path)
    assert argv(chain["cmd"]) == ["mkdir", "-p", str(tmp_path / "chain")]
    assert resources[CHAIN_SERVICE]["serve_env"]["PLUGYARD_CHAIN_URL"] == "http://127.0.0.1:8545"
    assert [name for name, r in resources.items() if "chain" in r["resource_deps"]] == [CHAIN_SERVICE]
    assert [name for name, r in resources.items() if "PLUGYARD_CHAIN_URL" in r["serve_env"]] == [CHAIN_SERVICE]
    moved = evaluate_tiltfile({"PLUGYARD_CHAIN_PORT": "8555"})
    assert moved["chain"]["readiness_probe"]["tcp_socket"]["port"] == 8555
    assert options(argv(moved["chain"]["serve_cmd"]))["--port"] == "8555"
    assert moved[CHAIN_SERVICE]["serve_env"]["PLUGYARD_CHAIN_URL"] == "http://127.0.0.1:8555"


def test_every_command_the_tiltfile_runs_exists():
    without_npm = []
    for name, resource in evaluate_tiltfile({}).items():
        for command in (resource["cmd"], resource["serve_cmd"]):
            if not command:
                continue
            program = argv(command)[0]
            path = ROOT / program if "/" in program else shutil.which(program)
            if program == ANVIL and shutil.which("npm") is None and not (path and Path(path).is_file()):
                without_npm.append(name)  # `make setup` installs anvil only where npm exists
                continue
            assert path and Path(path).is_file() and os.access(path, os.X_OK), f"{name} runs {program}, which does not exist (make setup?)"
    if without_npm:
        pytest.skip(f"{', '.join(without_npm)} runs {ANVIL}, which `make setup` installs only where npm exists (no npm here)")


def test_tiltfile_setup_and_services_start():
    resources = evaluate_tiltfile({})
    dry_run = subprocess.run(["make", "-n", "setup"], cwd=ROOT, capture_output=True, text=True)
    assert dry_run.returncode == 0, dry_run.stderr
    for name in SERVICES:
        command = argv(resources[name]["serve_cmd"])
        result = subprocess.run([str(ROOT / command[0]), *command[1:], "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr


def json_rpc(url: str, method: str, params: list | None = None):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())["result"]


def test_tiltfile_chain_serves_the_development_chain_and_keeps_its_state(tmp_path):
    if not (ROOT / ANVIL).is_file():
        pytest.skip(f"{ANVIL} is not installed (`make setup` installs it where npm exists)")
    port = free_port()
    resources = evaluate_tiltfile({"PLUGYARD_DATA_DIR": str(tmp_path), "PLUGYARD_CHAIN_PORT": str(port)})
    chain = resources["chain"]
    subprocess.run(argv(chain["cmd"]), cwd=ROOT, check=True, timeout=60)
    node = subprocess.Popen(argv(chain["serve_cmd"]), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(node, chain["readiness_probe"]["tcp_socket"]["port"], "anvil")
        url = resources[CHAIN_SERVICE]["serve_env"]["PLUGYARD_CHAIN_URL"]
        assert int(json_rpc(url, "eth_chainId"), 16) == 31337
        state = tmp_path / "chain" / "state.json"
        deadline = time.monotonic() + 15
        while not (state.is_file() and state.stat().st_size):
            assert time.monotonic() < deadline, "anvil wrote no state into the data dir"
            time.sleep(0.1)
    finally:
        node.terminate()
        node.wait(10)


def test_tiltfile_nats_starts_jetstream_syncing_every_write_with_authentication_on(tmp_path):
    port = free_port()
    resources = evaluate_tiltfile({"PLUGYARD_DATA_DIR": str(tmp_path), "PLUGYARD_NATS_PORT": str(port)})
    nats = resources["nats"]
    subprocess.run(argv(nats["cmd"]), cwd=ROOT, check=True, timeout=60)
    assert re.search(r"sync_interval:\s*always", (tmp_path / "nats" / "nats-server.conf").read_text())
    url = resources[SERVICES[0]]["serve_env"]["PLUGYARD_NATS_URL"]
    assert (tmp_path / "nats.url").read_text().strip() == url
    server = subprocess.Popen(argv(nats["serve_cmd"]), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(server, port, "nats-server")

        init = resources["bus-init"]
        subprocess.run(argv(init["cmd"]), cwd=ROOT, check=True, timeout=60, env={**os.environ, **init["env"]})

        async def streams_as_a_service_and_anonymous() -> None:
            with pytest.raises(NatsRefused):
                await connect("test-tiltfile", url, identity="nobody", reconnect=False, data_directory=tmp_path)
            nc = await connect("test-tiltfile", url, identity=SERVICES[0], reconnect=False, data_directory=tmp_path)
            try:
                assert await missing_streams(nc.jetstream()) == []
            finally:
                await nc.close()

        asyncio.run(streams_as_a_service_and_anonymous())
        assert (tmp_path / "nats" / "jetstream").is_dir()
    finally:
        server.terminate()
        server.wait(10)
