"""One plugin in one sandboxed process, spoken to over a pipe; the host never imports plugin code.

Host side: `runtime.stage_runtime` / `runtime.runtime_read_dirs` (what the worker may read), `host.WorkerHandle`
(spawn, call, stop over asyncio). Worker side (stdlib + plugyard_sdk + plugyard_sandbox only): `main`, `audit`,
`output`, `pool`. Both: `frames` (4-byte big-endian length + JSON object, at most 4 MiB).

host → worker: start {spec, entry, library_paths, context} (first), call {id, action, args}, stop (drain, teardown, exit 0).
worker → host: ready {pid, actions, layers}, result {id, ok, result | error}, log {level, logger, message},
violation {permission, target, detail}, fatal {message} (then exit 1).
"""
