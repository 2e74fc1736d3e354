"""What inspect.signature tells about an action's parameters, read straight from the function object.

inspect (with ast, dis, tokenize, re and enum behind it) would add several milliseconds to every worker's cold
start. Plain functions and bound methods, also behind functools.wraps, are read from __code__, __defaults__ and
__kwdefaults__; anything else (a __signature__, a partial, a callable object) is left to inspect, imported then.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

_CO_VARARGS = 0x04
_CO_VARKEYWORDS = 0x08
# Attributes by which a function tells inspect.signature something its code does not say.
_SPECIAL = ("__signature__", "_partialmethod", "__partialmethod__")


class _Probe:
    def method(self) -> None: ...


_FunctionType = type(_Probe.method)
_MethodType = type(_Probe().method)


class Parameter:
    # The kinds of inspect.Parameter, by the same names.
    POSITIONAL_ONLY = "POSITIONAL_ONLY"
    POSITIONAL_OR_KEYWORD = "POSITIONAL_OR_KEYWORD"
    VAR_POSITIONAL = "VAR_POSITIONAL"
    KEYWORD_ONLY = "KEYWORD_ONLY"
    VAR_KEYWORD = "VAR_KEYWORD"

    __slots__ = ("name", "kind", "required")

    def __init__(self, name: str, kind: str, required: bool) -> None:
        self.name = name
        self.kind = kind
        self.required = required  # no default (never for *args, **kwargs)

    def __repr__(self) -> str:
        return f"Parameter({self.name!r}, {self.kind}, required={self.required})"


def parameters_of(target: Any) -> tuple[Parameter, ...]:
    """The parameters of calling `target`, as inspect.signature(target) lists them (a bound method's first one taken)."""
    found = _from_code(target)
    return found if found is not None else _from_inspect(target)


# Per (function, bound): read once, checked on every call.
_cache: dict[tuple[Any, bool], tuple[Parameter, ...]] = {}


def call_parameters(method: Any) -> tuple[Parameter, ...]:
    """parameters_of(method), remembered per underlying function (a bound method is a new object on each lookup)."""
    bound = type(method) is _MethodType
    key = (method.__func__ if bound else method, bound)
    try:
        return _cache[key]
    except KeyError:
        found = _cache[key] = parameters_of(method)
        return found
    except TypeError:  # an unhashable callable object
        return parameters_of(method)


def _from_code(target: Any) -> tuple[Parameter, ...] | None:
    bound = type(target) is _MethodType
    function = target.__func__ if bound else target
    while type(function) is _FunctionType and not _special(function):
        wrapped = function.__dict__.get("__wrapped__")
        if wrapped is None:
            break
        function = wrapped  # what functools.wraps hides, as inspect.signature follows it
    if type(function) is not _FunctionType or _special(function):
        return None
    code = function.__code__
    names = code.co_varnames
    positional, keyword_only = code.co_argcount, code.co_kwonlyargcount
    first_default = positional - len(function.__defaults__ or ())
    kwdefaults = function.__kwdefaults__ or {}
    found = [
        Parameter(names[i], Parameter.POSITIONAL_ONLY if i < code.co_posonlyargcount else Parameter.POSITIONAL_OR_KEYWORD, i < first_default)
        for i in range(positional)
    ]
    extra = positional + keyword_only  # *args and **kwargs are named after the keyword-only parameters
    if code.co_flags & _CO_VARARGS:
        found.append(Parameter(names[extra], Parameter.VAR_POSITIONAL, False))
        extra += 1
    found += [Parameter(names[i], Parameter.KEYWORD_ONLY, names[i] not in kwdefaults) for i in range(positional, positional + keyword_only)]
    if code.co_flags & _CO_VARKEYWORDS:
        found.append(Parameter(names[extra], Parameter.VAR_KEYWORD, False))
    if bound:
        if not found or found[0].kind not in (Parameter.POSITIONAL_ONLY, Parameter.POSITIONAL_OR_KEYWORD, Parameter.VAR_POSITIONAL):
            return None  # inspect has its own answer (or error) for such a method
        if found[0].kind != Parameter.VAR_POSITIONAL:
            del found[0]
    return tuple(found)


def _special(function: Any) -> bool:
    return any(name in function.__dict__ for name in _SPECIAL)


def _from_inspect(target: Any) -> tuple[Parameter, ...]:
    import inspect

    return tuple(
        Parameter(p.name, p.kind.name, p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))
        for p in inspect.signature(target).parameters.values()
    )


def binding_problem(parameters: tuple[Parameter, ...], arguments: Mapping[str, Any]) -> str | None:
    """Why calling with `arguments` as keywords would fail, worded as inspect.Signature.bind words it; None when it binds."""
    names = set()
    takes_any = False
    for parameter in parameters:
        kind = parameter.kind
        if kind == Parameter.VAR_KEYWORD:
            takes_any = True
        elif kind != Parameter.VAR_POSITIONAL:
            if parameter.name in arguments:
                if kind == Parameter.POSITIONAL_ONLY:
                    return f"{parameter.name!r} parameter is positional only, but was passed as a keyword"
                names.add(parameter.name)
            elif parameter.required:
                return f"missing a required argument: {parameter.name!r}"
    if not takes_any:
        for key in arguments:
            if key not in names:
                return f"got an unexpected keyword argument {key!r}"
    return None
