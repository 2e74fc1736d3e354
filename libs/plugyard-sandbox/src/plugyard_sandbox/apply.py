"""Worker side: apply every layer of the sandbox, in order, before any plugin code is imported.

Order: namespaces and mounts (privileged) → Landlock ruleset built (paths opened while still privileged) →
rlimits → drop the user → no_new_privs → Landlock enforced → seccomp last (it forbids the mount/unshare used
above). Every layer ends "active" or "missing: <reason>"; a missing layer named in spec.required_layers raises
SandboxRefused. Landlock and the user drop apply to the calling thread: call this while single-threaded.
"""

from __future__ import annotations

import os

from plugyard_sandbox import landlock
from plugyard_sandbox._linux import set_no_new_privs
from plugyard_sandbox.errors import SandboxRefused
from plugyard_sandbox.limits import apply_rlimits
from plugyard_sandbox.namespaces import enter_namespaces
from plugyard_sandbox.seccomp_install import install_bpf
from plugyard_sandbox.spec import LAYERS
from plugyard_sandbox.user import drop_capabilities, drop_user

TYPE_CHECKING = False
if TYPE_CHECKING:
    from plugyard_sandbox.spec import SandboxSpec

ACTIVE = "active"
SYSTEM_PROGRAMS = ("/usr/bin", "/bin", "/usr/local/bin")  # what a plugin declaring `subprocess` may run
COERCED_LOCALES = ("C.UTF-8", "C.utf8", "UTF-8")  # LC_CTYPE as the interpreter itself sets it (PEP 538)


def _missing(exc: BaseException) -> str:
    return f"missing: {exc}" if isinstance(exc, OSError) else f"missing: {type(exc).__name__}: {exc}"


def settle_env(spec: SandboxSpec) -> str:
    """Check the host's scrubbing; fix os.environ if it did not (the start environment stays in /proc/self/environ)."""
    expected = dict(spec.env)
    for key in ("HOME", "TMPDIR"):
        expected.setdefault(key, spec.state_dir)
        os.environ.setdefault(key, expected[key])
    extra = sorted(k for k in os.environ if k not in expected
                   and not (k == "LC_CTYPE" and os.environ[k] in COERCED_LOCALES))
    wrong = sorted(k for k in expected if os.environ.get(k) != expected[k])
    for key in extra:
        del os.environ[key]
    for key in wrong:
        os.environ[key] = expected[key]
    if extra or wrong:
        names = ", ".join((extra + wrong)[:8])
        return (f"missing: the worker started with {len(extra)} variable(s) outside the spec and {len(wrong)} different "
                f"value(s) ({names}); fixed in os.environ, but the start environment is still in /proc/self/environ")
    return ACTIVE


def landlock_paths(spec: SandboxSpec) -> tuple[list[str], list[str], list[str]]:
    """(read+exec, read-only, read-write)."""
    plugin_code = [spec.plugin_dir, *spec.library_dirs]
    reads = [grant.path for grant in spec.filesystem if grant.mode != "write"]
    writes = [grant.path for grant in spec.filesystem if grant.mode == "write"]
    executables = [*spec.runtime_dirs, *(SYSTEM_PROGRAMS if spec.subprocess else ())]
    if spec.native:
        return [*executables, *plugin_code], reads, [spec.state_dir, *writes]
    return executables, [*plugin_code, *reads], [spec.state_dir, *writes]


def apply_sandbox(spec: SandboxSpec) -> dict[str, str]:
    status = dict.fromkeys(LAYERS, "missing: not attempted")
    status["env"] = settle_env(spec)
    root = os.geteuid() == 0
    uid = spec.drop_uid if root else None
    gid = spec.drop_gid if spec.drop_gid is not None else uid

    entered = enter_namespaces(spec, uid, gid)
    status["network"] = ACTIVE if entered.network_error is None else f"missing: {entered.network_error}"
    if not root:
        status["user"] = "missing: the host does not run as root, so the worker keeps the host's uid"
    elif uid is None:
        status["user"] = "missing: the spec names no drop_uid"
    elif entered.expose_error is not None:
        status["user"] = f"missing: the runtime cannot be made reachable for uid {uid}: {entered.expose_error}"
    dropping = uid is not None and entered.expose_error is None

    try:
        ruleset = landlock.build_ruleset(*landlock_paths(spec), scope_signals=True)
    except OSError as exc:
        ruleset, status["landlock"] = None, _missing(exc)

    try:
        apply_rlimits(spec.limits, spec.subprocess, own_user=dropping or entered.userns)
        status["rlimits"] = ACTIVE
    except (OSError, ValueError) as exc:
        status["rlimits"] = _missing(exc)
    if dropping:
        try:
            drop_user(uid, gid)
            status["user"] = ACTIVE
        except (OSError, ValueError) as exc:
            status["user"] = _missing(exc)
    elif entered.userns:
        try:
            drop_capabilities()  # the namespace's capabilities were only needed for the mounts
        except OSError:
            pass

    try:
        set_no_new_privs()
    except OSError as exc:
        status["landlock"] = status["seccomp"] = _missing(exc)
        return _verdict(spec, status)
    if ruleset is not None:
        try:
            ruleset.enforce()
            status["landlock"] = ACTIVE if entered.noexec_error is None else (
                f"missing: Landlock ABI {ruleset.abi} is on, but the plugin's folders are not noexec: {entered.noexec_error}")
        except OSError as exc:
            status["landlock"] = _missing(exc)
    if not spec.seccomp_bpf:
        status["seccomp"] = "missing: the host sent no filter (libseccomp unavailable on the host?)"
    else:
        try:
            install_bpf(spec.seccomp_bpf)
            status["seccomp"] = ACTIVE
        except (OSError, ValueError) as exc:
            status["seccomp"] = _missing(exc)
    return _verdict(spec, status)


def _verdict(spec: SandboxSpec, status: dict[str, str]) -> dict[str, str]:
    refused = [f"{layer} ({status.get(layer, 'missing: not a sandbox layer')})"
               for layer in spec.required_layers if status.get(layer) != ACTIVE]
    if refused:
        raise SandboxRefused(f"required sandbox layer(s) cannot be applied: {'; '.join(refused)}")
    return status
