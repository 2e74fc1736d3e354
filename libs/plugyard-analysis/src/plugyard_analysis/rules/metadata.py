"""What a plugin says about itself: a name imitating another publisher's plugin, empty or placeholder
metadata, claims of being official or verified, and compiled code shipped in place of reviewable source."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import PurePosixPath

from plugyard_analysis.capabilities import bundled_code
from plugyard_analysis.context import PluginContext
from plugyard_analysis.rulebook import Hit, RuleInfo, plugin_rule
from plugyard_analysis.typosquat import canonical, imitations, normalize

TYPOSQUAT = RuleInfo(
    "META-TYPOSQUAT", "metadata", "high",
    "The plugin's name imitates another publisher's plugin (look-alike characters, separators, affixes, word order or a typo)",
    cwe=1007,
)
EMPTY_METADATA = RuleInfo(
    "META-EMPTY-METADATA", "metadata", "low",
    "The plugin says little or nothing about itself (placeholder summary, or no description, authors or license)",
)
DECEPTIVE = RuleInfo(
    "META-DECEPTIVE", "metadata", "medium",
    "The plugin claims to be official, verified or made by an organization that did not publish it",
    cwe=451,
)
BUNDLED_BINARY = RuleInfo(
    "META-BUNDLED-BINARY", "metadata", "medium",
    "The plugin ships compiled code (native libraries, executables or Python bytecode) that cannot be reviewed",
    cwe=912,
)

# --- META-TYPOSQUAT ---------------------------------------------------------------------------------


@plugin_rule(TYPOSQUAT)
def typosquat(ctx: PluginContext) -> Iterator[Hit]:
    name = ctx.info.get("name")
    known = ctx.scan.known_plugins
    if not name or not known:
        return
    own = canonical(name)
    publisher = ctx.scan.publisher
    for match in imitations(name, known.keys()):
        owner = known.get(match.name)
        if canonical(match.name) == own or (publisher is not None and owner == publisher):
            continue
        by = f"published by {owner}" if owner else "another publisher's"
        yield Hit(f"{name!r} imitates {match.name!r} ({by}): {match.reason}", path="plugin.toml")
        return


# --- META-EMPTY-METADATA ----------------------------------------------------------------------------

PLACEHOLDERS = frozenset({
    "todo", "tbd", "tba", "test", "tests", "testing", "asdf", "asdfasdf", "asdfgh", "qwerty", "xxx", "xx", "x",
    "foo", "bar", "foobar", "baz", "summary", "description", "placeholder", "lorem ipsum", "n/a", "na", "none",
    "null", "nothing", "my plugin", "a plugin", "plugin", "my package", "package", "hello", "hello world",
    "sample", "example", "changeme", "change me", "fixme", "wip", "untitled", "blah", "abc", "aaa", "dummy",
    "temp", "tmp", "short description", "add a description", "describe your plugin", "your description here",
})
_WORDS = re.compile(r"[^\w\s/]+")


def _placeholder(text: str, name: str) -> bool:
    plain = " ".join(_WORDS.sub(" ", text.casefold()).split())
    if not plain or len(plain) < 3 or plain in PLACEHOLDERS or len(set(plain.replace(" ", ""))) <= 2:
        return True
    if plain.startswith(("todo", "tbd", "fixme", "lorem ipsum", "write a description", "add a description")):
        return True
    return normalize(plain) == normalize(name) or plain.replace(" ", "") == name.replace("-", "")


@plugin_rule(EMPTY_METADATA)
def empty_metadata(ctx: PluginContext) -> Iterator[Hit]:
    """A placeholder summary is medium; a plugin with none of description, authors and license is low; two of
    them missing is info (shown, ignored by the default policy: `plugyard init` leaves authors and license to
    the author, and a fresh scaffold must clear)."""
    info = ctx.info
    if ctx.manifest is None or not info:
        return
    name = str(info.get("name") or "")
    summary = str(info.get("summary") or "")
    description = str(info.get("description") or "").strip()
    missing = []
    if not description or _placeholder(description, name):
        missing.append("description")
    if not info.get("authors"):
        missing.append("authors")
    if not info.get("license"):
        missing.append("license")
    if _placeholder(summary, name):
        also = f"; also no {', '.join(missing)}" if missing else ""
        yield Hit(f"the summary {summary!r} is a placeholder{also}", path="plugin.toml", severity="medium")
    elif len(missing) >= 2:
        yield Hit(f"no {', '.join(missing)}", path="plugin.toml", severity="low" if len(missing) == 3 else "info")


# --- META-DECEPTIVE ---------------------------------------------------------------------------------

ORGANIZATIONS = (
    "plugyard", "google", "microsoft", "amazon", "aws", "apple", "meta", "facebook", "github", "gitlab", "openai",
    "anthropic", "mozilla", "red hat", "redhat", "ibm", "oracle", "intel", "nvidia", "python software foundation",
    "psf", "pypa", "pypi", "jetbrains", "atlassian", "slack", "stripe", "twilio", "cloudflare", "docker",
    "hashicorp", "elastic", "mongodb", "salesforce", "adobe", "netflix", "uber", "twitter", "linux foundation",
    "apache software foundation", "canonical", "digitalocean", "heroku", "vercel", "netlify", "shopify", "paypal",
    "dropbox", "zoom", "discord", "telegram", "django software foundation", "cisco", "vmware", "sap", "samsung",
)
_ORG = "|".join(re.escape(o) for o in sorted(ORGANIZATIONS, key=len, reverse=True))
_NOUNS = r"(?:plugins?|extensions?|packages?|releases?|builds?|versions?|clients?|sdks?|librar(?:y|ies)|integrations?|distributions?|ports?|modules?|bindings?|tools?|apps?)"
# claiming the platform's own endorsement: high
PLATFORM_CLAIMS = re.compile(
    r"\b(?:(?:verified|certified|approved|endorsed|audited|vetted|reviewed|sanctioned)\s+by\s+(?:the\s+)?plugyard"
    r"|plugyard[\s-]+(?:verified|certified|approved|endorsed|official|team|staff)"
    r"|official(?:ly)?\s+plugyard)\b",
    re.I,
)
# claiming to be the official release, or verified, or endorsed by an organization: medium. "The official
# X plugin" counts where it speaks of the plugin itself (at the start of a sentence, or "is/as the official"),
# not "a wrapper around the official X library".
OFFICIAL_CLAIMS = re.compile(
    rf"(?:(?:^|[.!?:]\s+|\b(?:is|as|am|are)\s+)(?:(?:the|an?|our)\s+)?official\s+(?:[\w.+-]+\s+){{0,3}}?{_NOUNS}\b"
    rf"|\bofficially\s+(?:supported|endorsed|maintained|approved|sanctioned|released)\s+by\b"
    rf"|\b(?:verified|certified|approved|endorsed|sanctioned)\s+by\s+(?:the\s+)?(?:{_ORG})\b"
    rf"|\b(?:verified|certified)\s+(?:publisher|plugin|package|developer|author)\b)",
    re.I,
)
# "Developed by Google." at the start of a sentence, or "this plugin is maintained by the PSF": about the
# plugin itself, not "inspect images built by Docker"
ORGANIZATION_CLAIMS = re.compile(
    rf"(?:^|[.!?:;]\s+|\b(?:is|are|was|were|being)\s+(?:officially\s+)?)"
    rf"(?:developed|made|built|maintained|published|created|written|released|provided|produced|distributed|brought\s+to\s+you)"
    rf"\s+by\s+(?:the\s+)?(?P<org>{_ORG})(?:\s+(?:team|inc|corp|corporation|llc|ltd|foundation))?\b",
    re.I,
)
NEGATIONS = re.compile(r"\b(?:not|no|never|isn't|isnt|aren't|is\s+not|neither|nor|without|un|non)\b|unofficial|non-official|n't\b", re.I)
NAME_CLAIMS = ("official", "verified", "certified", "authentic", "genuine")


def _negated(text: str, start: int) -> bool:
    before = text[max(0, start - 40):start]
    return bool(NEGATIONS.search(before)) or "affiliated" in text[start:start + 80].casefold() and "not" in before.casefold()


def _own_organization(org: str, publisher: str | None) -> bool:
    if not publisher:
        return False
    flat = re.sub(r"[^a-z0-9]", "", publisher.casefold())
    return re.sub(r"[^a-z0-9]", "", org.casefold()) in flat


@plugin_rule(DECEPTIVE)
def deceptive(ctx: PluginContext) -> Iterator[Hit]:
    """The name claiming official/verified status is high, as is claiming Plugyard's endorsement; claiming to
    be an official release or an organization's work is medium. Negated claims ("not affiliated with or
    endorsed by X", "unofficial") and claims of the publisher's own organization are not."""
    info = ctx.info
    if ctx.manifest is None or not info:
        return
    publisher = ctx.scan.publisher
    name = str(info.get("name") or "")
    for word in NAME_CLAIMS:
        position = name.find(word)
        if position >= 0 and not name[max(0, position - 3):position].endswith(("un", "non", "non-", "un-")):
            yield Hit(f"the name {name!r} claims to be {word}", path="plugin.toml", severity="high")
            return
    if publisher and normalize(publisher) == "plugyard":
        return
    for field in ("summary", "description"):
        text = str(info.get(field) or "")
        for pattern, severity in ((PLATFORM_CLAIMS, "high"), (OFFICIAL_CLAIMS, None), (ORGANIZATION_CLAIMS, None)):
            for match in pattern.finditer(text):
                if _negated(text, match.start()):
                    continue
                org = match.groupdict().get("org") if pattern is ORGANIZATION_CLAIMS else None
                if org is not None and _own_organization(org, publisher):
                    continue
                claim = " ".join(match.group(0).split())
                yield Hit(f"the {field} says {claim!r}", path="plugin.toml", severity=severity)  # type: ignore[arg-type]
                return


# --- META-BUNDLED-BINARY ----------------------------------------------------------------------------

MAX_BINARY_HITS = 20
_CACHE_NAME = re.compile(r"(?P<module>[^.]+)\.[\w-]+(?:\.opt-\d)?\.pyc$")


def _cached_bytecode_of_source(path: str, sources: set[str]) -> bool:
    """`pkg/__pycache__/mod.cpython-311.pyc` next to `pkg/mod.py`: the interpreter's cache of a shipped source."""
    parts = PurePosixPath(path)
    if parts.parent.name != "__pycache__":
        return False
    match = _CACHE_NAME.match(parts.name)
    return match is not None and str(parts.parent.parent / f"{match.group('module')}.py").lstrip("./") in sources


@plugin_rule(BUNDLED_BINARY)
def bundled_binary(ctx: PluginContext) -> Iterator[Hit]:
    """Native binaries and bytecode without its source are high when the manifest does not declare native,
    medium when it does; the bytecode cache of a shipped source (`__pycache__`) is medium (the interpreter
    may run it instead of the source it claims to be)."""
    native_declared = bool(ctx.permissions.get("native"))
    sources = {f.path for f in ctx.files if f.is_python}
    hits = 0
    extra = 0
    for file in ctx.files:
        kind = bundled_code(file)
        if kind is None:
            continue
        description, native = kind
        if hits >= MAX_BINARY_HITS:
            extra += 1
            continue
        hits += 1
        if description == "Python bytecode" and _cached_bytecode_of_source(file.path, sources):
            yield Hit(f"{file.path} is Python bytecode cached for its source; it may run instead of the source", path=file.path)
        elif native or description == "Python bytecode":
            undeclared = "" if native_declared else " and the manifest does not declare native code"
            yield Hit(f"{file.path} is {description}{undeclared}", path=file.path, severity="medium" if native_declared else "high")
        else:
            yield Hit(f"{file.path} is {description}", path=file.path)
    if extra:
        yield Hit(f"{extra} more compiled file{'s' if extra > 1 else ''} not listed one by one", path=None)
