"""A number from an environment variable, or the one-line error that names the variable and what it must hold."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping


def env_number(
    name: str,
    default: float,
    *,
    least: float,
    most: float = math.inf,
    what: str,
    error: type[ValueError] = ValueError,
    environ: Mapping[str, str] | None = None,
    whole: bool = False,
    strictly_above_least: bool = False,
) -> float:
    """`name`'s value, `default` when unset or blank. Raises `error` ("NAME must be <what> ...; got '...'") for text
    that is not a finite number in the range (or not a whole one, with `whole`)."""
    text = (os.environ if environ is None else environ).get(name, "").strip()
    if not text:
        return default
    try:
        value = float(int(text)) if whole else float(text)
    except ValueError:
        value = math.nan
    low_ok = value > least if strictly_above_least else value >= least
    if not (math.isfinite(value) and low_ok and value <= most):
        bound = f"more than {least:g}" if strictly_above_least else f"at least {least:g}"
        if math.isfinite(most):
            bound += f" and at most {most:g}"
        raise error(f"{name} must be {what}, {bound}; got {text!r}")
    return value
