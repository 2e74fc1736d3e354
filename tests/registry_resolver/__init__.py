"""Tests of the plugin resolver (services/registry/src/plugyard_registry/resolver.py), with an in-memory Catalog:
plugins written as {name: {version: spec}}."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from plugyard_registry.resolver import CandidateVersion, normalize_name


class MemoryCatalog:
    def __init__(self, candidates: Sequence[CandidateVersion] = ()) -> None:
        self._by_name: dict[str, list[CandidateVersion]] = {}
        self.lookups: list[str] = []
        for cand in candidates:
            self.add(cand)

    def add(self, cand: CandidateVersion) -> None:
        self._by_name.setdefault(normalize_name(cand.name), []).append(cand)

    def versions(self, name: str) -> Sequence[CandidateVersion]:
        self.lookups.append(name)
        return list(self._by_name.get(name, []))


def version(name: str, ver: str, requires: Sequence[str] = (), *, host: str = "", status: str = "cleared", yanked: bool = False) -> CandidateVersion:
    return CandidateVersion(
        name=name, version=Version(ver), requires=tuple(Requirement(r) for r in requires),
        host=SpecifierSet(host), status=status, yanked=yanked, cid=f"cid-{normalize_name(name)}-{ver}",
    )


def catalog(plugins: Mapping[str, Mapping[str, object]]) -> MemoryCatalog:
    """{name: {version: [requires...] | {"requires": [...], "host": ..., "status": ..., "yanked": ...}}}"""
    cands = []
    for name, versions in plugins.items():
        for ver, spec in versions.items():
            if isinstance(spec, Mapping):
                cands.append(version(name, ver, **spec))
            else:
                cands.append(version(name, ver, spec))  # type: ignore[arg-type]
    return MemoryCatalog(cands)


def pins(result: Sequence[CandidateVersion]) -> list[str]:
    return [f"{c.name}=={c.version}" for c in result]
