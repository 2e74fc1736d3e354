"""The plugin resolver as a library: what it picks, in what order, and what it says when it cannot."""

from __future__ import annotations

import logging

import pytest
import resolvelib
from packaging.requirements import Requirement
from packaging.version import Version

from plugyard_registry import resolver as resolver_module
from plugyard_registry.resolver import (
    CandidateVersion,
    DependencyCycle,
    InvalidRequirement,
    NoInstallableVersion,
    ResolutionConflict,
    ResolutionError,
    ResolutionTooComplex,
    UnknownPlugin,
    allow_pending_from_env,
    normalize_name,
    parse_requirement,
    resolve,
)

from . import MemoryCatalog, catalog, pins, version

# --------------------------------------------------------------------------------------- what it picks


def test_a_plugin_without_dependencies_resolves_to_its_newest_version() -> None:
    cat = catalog({"textkit": {"1.0": [], "2.1": [], "2.0": [], "1.9": []}})
    assert pins(resolve(["textkit"], cat)) == ["textkit==2.1"]


def test_a_chain_is_installed_dependencies_first() -> None:
    cat = catalog({
        "app": {"1.0": ["middle>=1"]},
        "middle": {"1.0": ["base"], "1.1": ["base>=2"]},
        "base": {"1.0": [], "2.0": [], "2.5": []},
    })
    result = resolve(["app"], cat)
    assert pins(result) == ["base==2.5", "middle==1.1", "app==1.0"]
    assert [c.cid for c in result] == ["cid-base-2.5", "cid-middle-1.1", "cid-app-1.0"]
    assert all(isinstance(c, CandidateVersion) for c in result)


def test_a_diamond_resolves_the_shared_dependency_once() -> None:
    cat = catalog({
        "app": {"1.0": ["left", "right"]},
        "left": {"1.0": ["base>=1.2"]},
        "right": {"1.0": ["base<2"]},
        "base": {"1.0": [], "1.2": [], "1.5": [], "2.0": []},
    })
    assert pins(resolve(["app"], cat)) == ["base==1.5", "left==1.0", "right==1.0", "app==1.0"]


def test_ranges_pick_the_newest_version_inside_them() -> None:
    cat = catalog({"lib": {v: [] for v in ("0.9", "1.0", "1.4", "1.10", "2.0", "2.0.1")}})
    assert pins(resolve(["lib>=1,<2"], cat)) == ["lib==1.10"]
    assert pins(resolve(["lib~=1.4"], cat)) == ["lib==1.10"]
    assert pins(resolve(["lib==1.*"], cat)) == ["lib==1.10"]
    assert pins(resolve(["lib!=2.0.1"], cat)) == ["lib==2.0"]
    assert pins(resolve(["lib>=1", "lib<1.5"], cat)) == ["lib==1.4"]


def test_the_search_backtracks_to_an_older_version_that_fits() -> None:
    cat = catalog({
        "summarizer": {"1.2": ["textkit>=2"], "1.1": ["textkit>=1"]},
        "notes": {"0.3": ["textkit<2"]},
        "textkit": {"1.5": [], "2.0": [], "2.1": []},
    })
    assert pins(resolve(["summarizer", "notes"], cat)) == ["textkit==1.5", "notes==0.3", "summarizer==1.1"]


def test_install_order_is_deterministic_with_ties_by_name() -> None:
    cat = catalog({
        "app": {"1.0": ["zeta", "alpha", "mid"]},
        "zeta": {"1.0": []}, "alpha": {"1.0": ["mid"]}, "mid": {"1.0": []},
    })
    assert pins(resolve(["app"], cat)) == ["mid==1.0", "alpha==1.0", "zeta==1.0", "app==1.0"]
    assert pins(resolve(["zeta", "alpha"], cat)) == ["mid==1.0", "alpha==1.0", "zeta==1.0"]


def test_an_empty_request_resolves_to_nothing() -> None:
    assert resolve([], catalog({})) == []


def test_pre_releases_only_when_asked_for_or_nothing_else_exists() -> None:
    cat = catalog({"lib": {"1.0": [], "2.0b1": []}, "fresh": {"0.1a1": [], "0.1a2": []}})
    assert pins(resolve(["lib"], cat)) == ["lib==1.0"]
    assert pins(resolve(["lib>=2.0b1"], cat)) == ["lib==2.0b1"]
    assert pins(resolve(["lib==2.0b1"], cat)) == ["lib==2.0b1"]
    assert pins(resolve(["fresh"], cat)) == ["fresh==0.1a2"]  # no final release at all: like pip, take the pre-release
    assert pins(resolve(["fresh==0.1a1"], cat)) == ["fresh==0.1a1"]


# ------------------------------------------------------------------------------------------ host range


def test_a_version_whose_host_range_excludes_the_host_is_not_a_candidate() -> None:
    cat = catalog({"lib": {"1.0": {"host": ">=1.0"}, "2.0": {"host": ">=2.0"}, "3.0": {"host": ">=1.0,<1.5"}}})
    assert pins(resolve(["lib"], cat)) == ["lib==3.0"]
    assert pins(resolve(["lib"], cat, host_version="1.7")) == ["lib==1.0"]
    assert pins(resolve(["lib"], cat, host_version=Version("2.3"))) == ["lib==2.0"]


def test_host_exclusion_is_explained_per_version() -> None:
    cat = catalog({"app": {"1.0": ["lib"]}, "lib": {"2.0": {"host": ">=2"}, "1.0": {"host": "<1"}}})
    with pytest.raises(NoInstallableVersion) as err:
        resolve(["app"], cat)
    assert err.value.name == "lib"
    assert err.value.reasons == {"2.0": "only for host >=2 (this host is 1.0)", "1.0": "only for host <1 (this host is 1.0)"}
    assert "no installable version of lib for lib (required by app 1.0 ← your request app)" in err.value.message
    assert "2.0 is only for host >=2 (this host is 1.0)" in err.value.message


# ------------------------------------------------------------------------------------ status and yanks


def test_pending_and_quarantined_versions_never_resolve_and_the_reason_is_given() -> None:
    cat = catalog({
        "lib": {
            "3.0": {"status": "quarantined"}, "2.0": {"status": "pending"}, "1.5": {"status": "warned"},
            "1.0": {"status": "cleared"},
        },
        "shady": {"2.0": {"status": "quarantined"}, "1.0": {"status": "pending"}},
    })
    assert pins(resolve(["lib"], cat)) == ["lib==1.5"]  # warned is installable (warnings shown by the caller)
    with pytest.raises(NoInstallableVersion) as err:
        resolve(["lib>=2"], cat)
    assert err.value.reasons["3.0"] == "quarantined"
    assert err.value.reasons["2.0"].startswith("pending its scan")
    assert err.value.reasons["1.0"] == "not in >=2"
    with pytest.raises(NoInstallableVersion) as err:
        resolve(["shady"], cat)
    assert err.value.message == (
        "no installable version of shady for shady (your request): 2.0 is quarantined; "
        "1.0 is pending its scan (PLUGYARD_DEV_ALLOW_PENDING=1 allows pending versions in development)"
    )


def test_allow_pending_treats_pending_as_cleared_but_never_quarantined(caplog: pytest.LogCaptureFixture) -> None:
    cat = catalog({"lib": {"3.0": {"status": "quarantined"}, "2.0": {"status": "pending"}, "1.0": {}}})
    with caplog.at_level(logging.WARNING, logger="plugyard_registry.resolver"):
        assert pins(resolve(["lib"], cat, allow_pending=True)) == ["lib==2.0"]
    assert "lib 2.0" in caplog.text and "PLUGYARD_DEV_ALLOW_PENDING" in caplog.text
    with pytest.raises(NoInstallableVersion) as err:
        resolve(["lib==3.0"], cat, allow_pending=True)
    assert err.value.reasons["3.0"] == "quarantined"


def test_the_development_flag_is_read_from_the_environment() -> None:
    assert allow_pending_from_env({"PLUGYARD_DEV_ALLOW_PENDING": "1"}) is True
    assert allow_pending_from_env({"PLUGYARD_DEV_ALLOW_PENDING": "0"}) is False
    assert allow_pending_from_env({}) is False


def test_unknown_statuses_are_not_installable() -> None:
    cat = catalog({"lib": {"2.0": {"status": "published"}, "1.0": {}}})
    assert pins(resolve(["lib"], cat)) == ["lib==1.0"]


def test_a_yanked_version_is_skipped_unless_pinned_with_double_equals() -> None:
    cat = catalog({"lib": {"1.0": [], "1.1": {"yanked": True}}})
    assert pins(resolve(["lib"], cat)) == ["lib==1.0"]
    with pytest.raises(NoInstallableVersion) as err:
        resolve(["lib>=1.1"], cat)
    assert err.value.reasons == {"1.1": "yanked (only an exact pin, ==VERSION, selects it)", "1.0": "not in >=1.1"}
    assert pins(resolve(["lib==1.1"], cat)) == ["lib==1.1"]
    assert pins(resolve(["lib===1.1"], cat)) == ["lib==1.1"]
    with pytest.raises(NoInstallableVersion):
        resolve(["lib==1.1.*"], cat)  # a wildcard is not an exact pin (PEP 592)


def test_a_top_level_pin_selects_a_yanked_dependency() -> None:
    cat = catalog({"summarizer": {"1.0": ["textkit>=1"]}, "textkit": {"1.0": [], "1.1": {"yanked": True}}})
    assert pins(resolve(["summarizer"], cat)) == ["textkit==1.0", "summarizer==1.0"]
    assert pins(resolve(["summarizer", "textkit==1.1"], cat)) == ["textkit==1.1", "summarizer==1.0"]


def test_a_pin_inside_a_dependency_selects_a_yanked_version() -> None:
    cat = catalog({
        "app": {"1.0": ["locked", "loose"]},
        "locked": {"1.0": ["textkit==1.1"]},
        "loose": {"1.0": ["textkit>=1"]},
        "textkit": {"1.0": [], "1.1": {"yanked": True}, "1.2": {"yanked": True}},
    })
    assert pins(resolve(["app"], cat)) == ["textkit==1.1", "locked==1.0", "loose==1.0", "app==1.0"]
    assert pins(resolve(["loose"], cat)) == ["textkit==1.0", "loose==1.0"]


def test_a_yanked_version_never_outlives_the_pin_that_allowed_it() -> None:
    # The pinning parent (b 2.0) is replaced by b 1.0 once c asks for b<2; textkit 1.1 must go with it.
    cat = catalog({
        "a": {"1.0": ["b", "textkit>=1", "c"]},
        "b": {"2.0": ["textkit==1.1"], "1.0": []},
        "c": {"1.0": ["b<2"]},
        "textkit": {"1.0": [], "1.1": {"yanked": True}},
    })
    result = resolve(["a"], cat)
    assert "textkit==1.1" not in pins(result)
    assert set(pins(result)) == {"a==1.0", "b==1.0", "c==1.0", "textkit==1.0"}


def test_a_yanked_version_pinned_later_in_the_search_is_still_selected() -> None:
    # resolvelib adds requirements one at a time: `textkit` (from loose, or the request) comes before the pin
    # that licenses the only version; that must not count as "no version".
    cat = catalog({
        "app": {"1.0": ["loose", "locked"]},
        "loose": {"1.0": ["textkit"]},
        "locked": {"1.0": ["textkit==1.1"]},
        "textkit": {"1.1": {"yanked": True}},
    })
    assert pins(resolve(["app"], cat)) == ["textkit==1.1", "locked==1.0", "loose==1.0", "app==1.0"]
    assert pins(resolve(["textkit", "textkit==1.1"], cat)) == ["textkit==1.1"]


def test_an_older_version_is_chosen_over_an_unpinned_yanked_one() -> None:
    cat = catalog({
        "app": {"2.0": ["textkit>=2"], "1.0": ["textkit>=1"]},
        "textkit": {"1.0": [], "2.0": {"yanked": True}},
    })
    assert pins(resolve(["app"], cat)) == ["textkit==1.0", "app==1.0"]


# ------------------------------------------------------------------------- where resolvelib needs help


def test_a_displaced_pin_keeps_its_dependencies() -> None:
    # b 2.0 is displaced by x 2.0's b<2, which leaves when y's x<2 displaces x 2.0 in turn. resolvelib 1.2.1
    # then keeps b 2.0 without its requirement c~=1.0, and pins c 2.0 for x 1.0: an inconsistent plan.
    cat = catalog({
        "a": {"1.0": ["b", "x"]},
        "b": {"2.0": ["c~=1.0"], "1.0": []},
        "c": {"1.0": [], "2.0": []},
        "x": {"2.0": ["b<2", "y==1.0"], "1.0": ["c>=2"]},
        "y": {"1.0": ["x<2"]},
    })
    assert pins(resolve(["a"], cat)) == ["b==1.0", "c==2.0", "x==1.0", "a==1.0"]


def test_a_leftover_cycle_outside_the_plan_does_not_hang_the_resolver() -> None:
    # b, d, e and f form a cycle that the first choice (a 2.0) pulls in and the final plan no longer needs;
    # resolvelib's Resolver.resolve() recursed forever on it (RecursionError) when building its result graph.
    cat = catalog({
        "plug-a": {"2.0": ["plug-b"], "1.1": ["plug-c"]},
        "plug-b": {"1.0": ["plug-c", "plug-d"]},
        "plug-c": {"1.0": ["plug-d"], "1.1": ["plug-a<2.0"]},
        "plug-d": {"1.0": ["plug-e"]},
        "plug-e": {"2.0": ["plug-f"]},
        "plug-f": {"0.9": ["plug-b"]},
    })
    with pytest.raises(DependencyCycle) as err:  # what is left, a 1.1 ⇄ c 1.1, is a cycle of its own
        resolve(["plug-a"], cat)
    assert err.value.cycle == ["plug-a 1.1", "plug-c 1.1", "plug-a 1.1"]


def test_a_plan_that_backjumping_skips_is_still_found() -> None:
    # resolvelib#206: backjumping jumps over p1 2 (whose dependency p0 is not among the conflict's names) and
    # never tries p1 1, reporting ResolutionImpossible; the backtracking second search finds the plan.
    cat = catalog({"p0": {"2": ["p2==2"]}, "p1": {"2": ["p0==2"], "1": []}, "p2": {"2": ["p1==3"], "1": ["p1>=1,<3"]}})
    assert pins(resolve(["p2"], cat)) == ["p1==1", "p2==1"]
    # found by the property test: b 2.1 is the culprit (through c 0.9's a>=1.0), but the conflict names a and b
    cat = catalog({
        "plug-a": {"0.9": [], "1.0": ["plug-b~=1.0"]},
        "plug-b": {"2.1": ["plug-c"], "2.0": [], "0.9": []},
        "plug-c": {"0.9": ["plug-a>=1.0"]},
    })
    assert pins(resolve(["plug-a", "plug-b"], cat)) == ["plug-a==0.9", "plug-b==2.0"]


# --------------------------------------------------------------------------------------------- conflicts


CLASH = {
    "summarizer": {"1.2": ["textkit>=2"]},
    "notes": {"0.3": ["textkit<2"]},
    "textkit": {"1.5": [], "2.0": [], "2.1": []},
}


def test_a_conflict_names_both_chains_from_the_request() -> None:
    with pytest.raises(ResolutionConflict) as err:
        resolve(["summarizer", "notes"], catalog(CLASH))
    assert err.value.message == (
        "cannot satisfy both textkit>=2 (required by summarizer 1.2 ← your request summarizer) and "
        "textkit<2 (required by notes 0.3 ← your request notes) (textkit has 2.1, 2.0 and 1.5)"
    )
    assert err.value.chains == [
        ["summarizer", "textkit>=2 (from summarizer 1.2)"],
        ["notes", "textkit<2 (from notes 0.3)"],
    ]
    assert str(err.value) == err.value.message


def test_a_conflict_with_the_request_itself() -> None:
    with pytest.raises(ResolutionConflict) as err:
        resolve(["summarizer", "textkit<2"], catalog(CLASH))
    assert err.value.message.startswith(
        "cannot satisfy both textkit>=2 (required by summarizer 1.2 ← your request summarizer) and textkit<2 (your request)"
    )
    with pytest.raises(ResolutionConflict) as err:
        resolve(["textkit>2", "textkit<2"], catalog(CLASH))
    assert err.value.message.startswith("cannot satisfy both textkit>2 (your request) and textkit<2 (your request)")


def test_a_deep_conflict_shows_the_whole_chain_and_every_version_tried() -> None:
    cat = catalog({
        "app": {"1.0": ["lib-a>=2", "lib-b"]},
        "lib-a": {"2.3": ["textkit>=2"], "1.0": []},
        "lib-b": {"1.0": ["deep"]},
        "deep": {"1.0": ["textkit<2"], "0.9": ["textkit<2"], "0.8": ["textkit<1"]},
        "textkit": {"1.5": [], "2.0": []},
    })
    with pytest.raises(ResolutionConflict) as err:
        resolve(["app==1.0"], cat)
    message = err.value.message
    assert (
        "cannot satisfy both textkit>=2 (required by lib-a 2.3 ← app 1.0 ← your request app==1.0) and textkit<2 "
        "(required by deep 1.0 ← lib-b 1.0 ← app 1.0 ← your request app==1.0; also by deep 0.9)"
    ) in message
    # the oldest version of deep, the last one tried, fails for its own reason, and that is told too
    assert "no installable version of textkit for textkit<1 (required by deep 0.8 ← lib-b 1.0 ← app 1.0" in message
    assert ["app==1.0", "lib-a>=2 (from app 1.0)", "textkit>=2 (from lib-a 2.3)"] in err.value.chains
    assert ["app==1.0", "lib-b (from app 1.0)", "deep (from lib-b 1.0)", "textkit<2 (from deep 1.0)"] in err.value.chains


def test_requirements_from_two_versions_of_one_plugin_are_not_called_a_clash() -> None:
    cat = catalog({
        "app": {"2.0": ["x", "lib>=2"], "1.0": ["y", "lib<1"]},
        "x": {"1.0": ["lib<2"]},
        "y": {"1.0": ["lib>=1"]},
        "lib": {"0.5": [], "1.5": [], "2.5": []},
    })
    with pytest.raises(ResolutionConflict) as err:
        resolve(["app"], cat)
    message = err.value.message
    assert "cannot satisfy both lib>=2 (required by app 2.0 ← your request app) and lib<2 (required by x 1.0 ← app 2.0" in message
    assert "cannot satisfy both lib<1 (required by app 1.0 ← your request app) and lib>=1 (required by y 1.0 ← app 1.0" in message
    assert "lib>=2 (required by app 2.0 ← your request app) and lib<1" not in message  # app 2.0 and app 1.0 never meet


def test_conflicts_are_typed_resolution_errors() -> None:
    for exc in (UnknownPlugin, NoInstallableVersion, ResolutionConflict, DependencyCycle, InvalidRequirement, ResolutionTooComplex):
        assert issubclass(exc, ResolutionError)


# ------------------------------------------------------------------------------------ unknown plugins


def test_an_unknown_plugin_names_who_wanted_it() -> None:
    cat = catalog({"summarizer": {"1.2": ["textkitt>=1"]}, "textkit": {"1.0": []}})
    with pytest.raises(UnknownPlugin) as err:
        resolve(["summarizer"], cat)
    assert err.value.message == "no plugin named textkitt (required by summarizer 1.2 ← your request summarizer)"
    assert err.value.name == "textkitt"
    assert err.value.chains == [["summarizer", "textkitt>=1 (from summarizer 1.2)"]]


def test_an_unknown_plugin_in_the_request() -> None:
    with pytest.raises(UnknownPlugin) as err:
        resolve(["nothing-here>=1"], catalog({}))
    assert err.value.message == "no plugin named nothing-here (your request nothing-here>=1)"


def test_a_dependency_on_an_unknown_plugin_is_avoided_when_an_older_version_works() -> None:
    cat = catalog({"summarizer": {"1.2": ["textkitt"], "1.1": ["textkit"]}, "textkit": {"1.0": []}})
    assert pins(resolve(["summarizer"], cat)) == ["textkit==1.0", "summarizer==1.1"]


# --------------------------------------------------------------------------------------------- cycles


def test_a_two_cycle_is_reported() -> None:
    cat = catalog({"app": {"1.0": ["a"]}, "a": {"1.0": ["b>=2"]}, "b": {"2.0": ["a"]}})
    with pytest.raises(DependencyCycle) as err:
        resolve(["app"], cat)
    assert err.value.cycle == ["a 1.0", "b 2.0", "a 1.0"]
    assert err.value.message.startswith("dependency cycle: a 1.0 → b 2.0 → a 1.0 (a 1.0 requires b>=2; b 2.0 requires a)")
    assert "cannot be installed before itself" in err.value.message


def test_a_three_cycle_is_reported() -> None:
    cat = catalog({"x": {"1.0": ["y"]}, "y": {"1.0": ["z"]}, "z": {"1.0": ["x>=1"]}})
    with pytest.raises(DependencyCycle) as err:
        resolve(["y"], cat)
    assert err.value.cycle == ["x 1.0", "y 1.0", "z 1.0", "x 1.0"]


def test_a_self_dependency_is_a_cycle() -> None:
    cat = catalog({"narcissus": {"1.0": ["narcissus>=1"]}, "ouroboros": {"1.0": ["ouroboros>=2"]}})
    with pytest.raises(DependencyCycle) as err:
        resolve(["narcissus"], cat)
    assert err.value.cycle == ["narcissus 1.0", "narcissus 1.0"]
    assert "narcissus 1.0 depends on itself" in err.value.message
    with pytest.raises(DependencyCycle) as err:
        resolve(["ouroboros"], cat)
    assert err.value.cycle == ["ouroboros 1.0", "ouroboros 1.0"]


def test_a_cycle_outside_the_pinned_set_does_not_matter() -> None:
    cat = catalog({"a": {"2.0": ["b"], "1.0": []}, "b": {"1.0": ["a"]}})
    assert pins(resolve(["a<2"], cat)) == ["a==1.0"]


# ---------------------------------------------------------------------------------- bad requirements


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("textkit>>1", "invalid requirement 'textkit>>1'"),
        ("", "invalid requirement ''"),
        ("   ", "invalid requirement '   '"),
        ("text kit", "invalid requirement 'text kit'"),
        ("textkit>=1.0.0.dev.x", "invalid requirement 'textkit>=1.0.0.dev.x'"),
        ("textkit[extra]", "plugins have no extras"),
        ("textkit @ https://example.org/t.tar.gz", "not from a URL"),
        ("textkit; python_version > '3'", "environment markers are not supported"),
    ],
)
def test_an_invalid_requirement_names_its_text(text: str, why: str) -> None:
    with pytest.raises(InvalidRequirement) as err:
        resolve(["lib", text], catalog({"lib": {"1.0": []}}))
    assert why in err.value.message
    assert err.value.text == text


def test_an_invalid_host_version_is_refused() -> None:
    with pytest.raises(InvalidRequirement, match="invalid host version 'one'"):
        resolve(["lib"], catalog({"lib": {"1.0": []}}), host_version="one")


def test_requirement_objects_are_accepted_and_checked() -> None:
    cat = catalog({"lib": {"1.0": []}})
    assert pins(resolve([Requirement("lib>=1")], cat)) == ["lib==1.0"]
    assert pins(resolve("lib", cat)) == ["lib==1.0"]  # type: ignore[arg-type]  # a lone string is one requirement
    with pytest.raises(InvalidRequirement):
        resolve([Requirement("lib[x]")], cat)
    assert parse_requirement("Lib >= 1").name == "Lib"


# ---------------------------------------------------------------------------------- name normalization


def test_names_are_pep_503_normalized() -> None:
    assert normalize_name("Bars_TextKit") == "bars-textkit"
    assert normalize_name("bars.__textkit") == "bars-textkit"
    cat = MemoryCatalog([
        version("bars-textkit", "1.0"),
        version("bars-summarizer", "2.0", ["Bars_TextKit>=1"]),
    ])
    result = resolve(["BARS.Summarizer", "bars__textkit<2"], cat)
    assert pins(result) == ["bars-textkit==1.0", "bars-summarizer==2.0"]
    assert set(cat.lookups) == {"bars-summarizer", "bars-textkit"}  # the catalogue is asked for normalized names only
    assert len(cat.lookups) == 2  # and once per name


def test_a_catalogue_that_returns_duplicates_or_strangers_is_tolerated() -> None:
    class Sloppy:
        def versions(self, name: str) -> list[CandidateVersion]:
            return [version(name, "1.0"), version(name, "1.0.0"), version("someone-else", "9.0")] if name == "lib" else []

    assert pins(resolve(["lib"], Sloppy())) == ["lib==1.0"]


# ---------------------------------------------------------------------------- resolvelib stays inside


def test_too_many_rounds_is_a_resolution_error() -> None:
    cat = catalog({"app": {"1.0": [f"dep{i}" for i in range(30)]}, **{f"dep{i}": {"1.0": []} for i in range(30)}})
    assert len(resolve(["app"], cat)) == 31
    with pytest.raises(ResolutionTooComplex) as err:
        resolve(["app"], cat, max_rounds=5)
    assert "gave up after 5 rounds" in err.value.message
    assert not isinstance(err.value, resolvelib.ResolutionTooDeep)


def test_resolvelib_internal_errors_become_resolution_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self, requirement, candidate):  # noqa: ANN001, ANN202
        return False  # a provider bug: resolvelib raises InconsistentCandidate

    monkeypatch.setattr(resolver_module._Provider, "is_satisfied_by", broken)
    with pytest.raises(ResolutionError, match="the resolver failed"):
        resolve(["lib"], catalog({"lib": {"1.0": []}}))
