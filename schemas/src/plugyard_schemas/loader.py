"""The loader: its RPCs (`plugyard.rpc.loader.<host>.<verb>`), plugin invocations
(`plugyard.rpc.plugin.<name>.<action>`), its events (`plugyard.evt.loader.<Name>`) and its telemetry samples
(`plugyard.tel.<host>.<plugin>`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

PluginState = Literal["starting", "running", "reloading", "backoff", "failed", "stopped"]
Requirement = Field(min_length=1, max_length=300)
PluginNameField = Field(min_length=1, max_length=100)
Challenge = Field(pattern=r"^0x[0-9a-f]{64}$", description="32 random bytes from the loader, lower-case hex")
INSTALL_CHALLENGE_HEADER = "plugyard-install:v1"


def install_challenge_message(host: str, challenge: str) -> str:
    """The text a client signs (EIP-191 personal message) to prove its account to loader `host` for one install.

    It names Plugyard, the host and the challenge, one per line, so that a signature for one host's challenge
    holds nowhere else, and no other Plugyard statement (each has its own first line) reads the same.
    """
    for what, value in (("host", host), ("challenge", challenge)):
        if not value or not value.isprintable():
            raise ValueError(f"the install challenge's {what} must be one line of printable text")
    return f"{INSTALL_CHALLENGE_HEADER}\nProve this account to a Plugyard loader for one install.\nhost: {host}\nchallenge: {challenge}"


# --- RPCs -----------------------------------------------------------------------------------------------------


class ChallengeRequest(BaseModel):
    """Ask a loader host for a fresh install challenge (`plugyard.rpc.loader.<host>.challenge`)."""


class ChallengeReply(BaseModel):
    """A challenge the client signs (see `install_challenge_message`) to prove an account at install: it is good for
    one install request on this host only, until `expires_at`."""

    challenge: str = Challenge
    expires_at: str = Field(description="UTC time after which the loader refuses the challenge, ISO 8601")


class AccountProof(BaseModel):
    """The signature of an account's key (EIP-191 personal message) over `install_challenge_message(host, challenge)`."""

    account: str = Field(pattern=r"^0x[0-9a-fA-F]{40}$", description="The account (address) the install is for")
    challenge: str = Challenge
    signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$", description="65 bytes: r, s, v")


class InstallRequest(BaseModel):
    requirements: list[str] = Field(min_length=1, max_length=50, description="PEP 508-style plugin requirements, e.g. 'textkit>=1.0'")
    proof: AccountProof | None = Field(
        default=None, description="Proves the account a priced plugin is installed for (the marketplace says whether it is entitled); "
        "without it, only plugins that are free (or not sold) install",
    )


class InstalledVersion(BaseModel):
    name: str
    version: str
    cid: str
    status: str = Field(description="The registry's verdict at install time: cleared or warned")
    path: str = Field(description="Where the unpacked plugin lives in the loader's cache")
    newly_installed: bool = Field(description="False when it was already in the cache (verified then)")
    dependencies: list[str] = Field(default_factory=list, description="PyPI requirements installed beside it")


class InstallReply(BaseModel):
    host: str
    installed: list[InstalledVersion]


class LoadRequest(BaseModel):
    name: str = PluginNameField
    version: str | None = Field(default=None, max_length=64, description="An installed version; default the newest installed")
    path: str | None = Field(default=None, max_length=4096, description="`plugyard dev`: run this local folder, unscanned")


class UnloadRequest(BaseModel):
    name: str = PluginNameField


class ReloadRequest(BaseModel):
    name: str = PluginNameField
    version: str | None = Field(default=None, max_length=64, description="Switch to this installed version (an upgrade)")


class PluginStatus(BaseModel):
    name: str
    version: str
    host: str
    state: PluginState
    pid: int | None = None
    uptime_s: float | None = None
    restarts: int = 0
    layers: dict[str, str] = Field(default_factory=dict, description="Each sandbox layer: 'active' or 'missing: <why>'")
    actions: list[str] = Field(default_factory=list)
    cpu_percent: float | None = None
    rss_bytes: int | None = None
    calls: int = 0
    errors: int = 0
    violations: int = 0
    dev: bool = Field(default=False, description="A local folder run by `plugyard dev`: never scanned")
    last_error: str | None = None


class PluginReply(BaseModel):
    plugin: PluginStatus
    changed: bool = True


class PsRequest(BaseModel):
    pass


class PsReply(BaseModel):
    host: str
    layers: dict[str, str] = Field(description="What this host's kernel offers: 'available' or 'missing: <why>'")
    plugins: list[PluginStatus]


class HostsRequest(BaseModel):
    """Sent on `plugyard.rpc.loader.hosts` with a reply inbox: every loader answers (a scatter, not one reply)."""


class HostAnnouncement(BaseModel):
    host: str
    plugins: int = Field(description="Plugins loaded there")


class BenchRequest(BaseModel):
    """Compare two installed versions of a plugin on one host: each runs in a temporary worker of its own, called
    alternately; the plugin's serving worker (if loaded) is left alone."""

    name: str = PluginNameField
    version: str = Field(min_length=1, max_length=64, description="The version under test")
    against: str = Field(min_length=1, max_length=64, description="The baseline version")
    action: str = Field(min_length=1, max_length=100)
    args: dict[str, Any] = Field(default_factory=dict, description="The action's arguments, a JSON object, the same for every call")
    calls: int = Field(default=100, ge=1, le=10_000, description="Calls per version")
    timeout_s: float = Field(default=30.0, gt=0, le=300, description="Seconds one call may take")


class BenchReply(BaseModel):
    host: str
    name: str
    version: str
    against: str
    action: str
    calls: int = Field(description="Calls made per version")
    latencies_ms: dict[str, list[float]] = Field(description="Per version, the successful calls' latencies as the loader measured them, in call order")
    errors: dict[str, int] = Field(description="Per version, the calls that failed")
    error_codes: dict[str, dict[str, int]] = Field(description="Per version, failed calls per error code")


# --- Invocation: the body is the JSON arguments object; a `Plugyard-Timeout` header (seconds) is optional ---------

INVOKE_TIMEOUT_HEADER = "Plugyard-Timeout"


class InvokeError(BaseModel):
    code: str
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class InvokeReply(BaseModel):
    """`{"result": ...}` on success, `{"error": {...}}` otherwise (the same shape as every RPC's error)."""

    result: Any = None
    error: InvokeError | None = None


# --- Events ---------------------------------------------------------------------------------------------------


class _EventData(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str
    version: str
    host: str


class PluginHosted(BaseModel):
    """The first event of a plugin's history on a host."""

    model_config = ConfigDict(extra="allow")

    name: str
    host: str


class PluginInstalled(_EventData):
    """A cleared (or warned) version was fetched, verified again and unpacked into a loader's cache; or, with
    `account`, a version already in the cache was installed again for a proven account not recorded there before."""

    cid: str
    status: str
    account: str | None = Field(
        default=None, description="The account the install was proven for (a signature over a fresh challenge), if any: "
        "that account's loader installed this version",
    )


class PluginLoaded(_EventData):
    """A worker runs the version; `layers` names every sandbox layer's state."""

    pid: int
    layers: dict[str, str]
    dev: bool = False


class PluginUnloaded(_EventData):
    reason: str


class PluginReloaded(_EventData):
    """Calls switched to a new worker (of the same or a newer version) without a failed call."""

    previous_version: str
    pid: int


class PluginCrashed(_EventData):
    returncode: int | None
    reason: str
    restarts: int
    next_start_in_s: float | None


class PluginFailed(_EventData):
    """Too many crashes in the window: the circuit is open until `plugyard load` resets it."""

    crashes: int
    window_s: float
    reason: str


class PermissionViolation(_EventData):
    """The plugin attempted something it did not declare (reported by the worker's audit hook or the egress proxy)."""

    permission: str
    target: str
    detail: str = ""
    count: int = Field(description="Violations of this version seen on this host so far")


LOADER_EVENTS: dict[str, type[_EventData]] = {
    model.__name__: model
    for model in (PluginHosted, PluginInstalled, PluginLoaded, PluginUnloaded, PluginReloaded, PluginCrashed, PluginFailed, PermissionViolation)
}


# --- Telemetry ------------------------------------------------------------------------------------------------


class ActionStats(BaseModel):
    calls: int = Field(default=0, ge=0)
    errors: int = Field(default=0, ge=0)
    latency_ms_p50: float | None = None
    latency_ms_max: float | None = None
    latency_buckets: list[int] = Field(
        default_factory=list, max_length=64,
        description="Calls per latency bucket (plugyard_schemas.telemetry.LATENCY_BUCKETS_MS, then one for slower), "
        "counted since the worker started",
    )
    errors_by_code: dict[str, int] = Field(default_factory=dict, description="Errors since the worker started, per error code")
    cpu_ms: float | None = Field(default=None, description="The worker's CPU time spent in this action's calls since it started")


class SlowCall(BaseModel):
    """A call that ran past its action's budget: where the worker's own stack sampler found it spending the time."""

    action: str
    elapsed_ms: float
    budget_ms: float
    at: str
    stack: list[str] = Field(default_factory=list, max_length=64, description="file:line function, innermost last, the most-sampled frames")
    samples: int = 0


class TelemetrySample(BaseModel):
    host: str
    name: str
    version: str
    pid: int
    at: str = Field(description="UTC time of the sample, ISO 8601")
    cpu_percent: float
    rss_bytes: int
    open_files: int
    threads: int
    read_bytes: int | None = None
    write_bytes: int | None = None
    calls: int
    errors: int
    actions: dict[str, ActionStats] = Field(default_factory=dict)
    started_at: str | None = Field(default=None, description="When this worker was spawned, ISO 8601")
    startup_ms: float | None = Field(default=None, description="Spawn to ready, for this worker")
    net_out_bytes: int | None = Field(default=None, description="Bytes sent through the egress proxy by this worker")
    net_in_bytes: int | None = Field(default=None, description="Bytes received through the egress proxy by this worker")
    memory_limit_bytes: int | None = Field(default=None, description="The worker's memory limit (its sandbox's address-space limit)")
    slow_calls: list[SlowCall] = Field(default_factory=list, max_length=32, description="Calls past budget since the last sample")
