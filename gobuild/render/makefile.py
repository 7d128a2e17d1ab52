"""The standalone Makefile's values, from the same build plans as ``doit build``.

The template places these values; it decides no flags. Volatile values
(VERSION, COMMIT, DATE, TREE_STATE) stay make variables computed from git.

``make install-go`` needs no Python: it downloads the pinned Go from the module
proxy (``golang.org/toolchain``) or from go.dev/the mirror, and checks it with
sha256sum against what gobuild.lock records for the machine's platform, so this
module turns the lock's entries into the hex digests a shell can compare.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gobuild.builds.flags import tag_union
from gobuild.builds.goenv import FIXED, SCRUBBED, profile_env
from gobuild.builds.imagespec import image_name
from gobuild.builds.plan import BuildPlan, dist_plans, host_plans, quote_field
from gobuild.checks.commands import make_settings, vulndb_url
from gobuild.errors import ConfigError, GobuildError
from gobuild.gocache import command
from gobuild.modules.dirhash import h1_hex
from gobuild.modules.goproxy import toolchain_zip
from gobuild.project import lock as lockfile
from gobuild.project.config import Project
from gobuild.project.layout import DOCKERFILE_NAME, LOCK_NAME, STATE_DIR_NAME
from gobuild.project.lock import ToolLock
from gobuild.project.platforms import Platform, variant_variables
from gobuild.project.settings import BinarySection
from gobuild.project.toolpins import ToolPin
from gobuild.project.versions import GoVersion, VersionRequest
from gobuild.release.archives import archive_plans, archiver_source
from gobuild.render import escape

# The platforms install-go's recipe recognises (uname's names mapped to Go's): a lock's
# entries for any other platform could never be chosen, so they are not placed.
INSTALL_PLATFORMS = tuple(
    Platform(goos, goarch) for goos in ("darwin", "linux") for goarch in ("amd64", "arm64")
)
# Go's own default proxy; the go command adds ",direct", which cannot serve toolchains.
DEFAULT_GOPROXY = "https://proxy.golang.org"


def makefile_context(project: Project) -> dict[str, Any]:
    """The values the Makefile template places (it decides no flags itself)."""
    lock = lockfile.read(project.lock_file)
    version = lockfile.locked_version(project)
    settings = project.settings
    # make adds TAGS itself, and chooses the profile with PROFILE=
    base = dataclasses.replace(project, env_tags=()).with_profile(settings.build.default_profile)
    # Found once: finding them walks the module (and reads main packages' build lines).
    binaries = {b.name: b for b in base.binaries()}
    found = list(binaries.values())
    builds = [_make_build(base, p, binaries) for p in host_plans(base, str(version), found)]
    dist_list = dist_plans(base, str(version), found)
    dists = [_make_build(base, p, binaries) for p in dist_list]
    # Sanitised names can collide (a.b and a_b): number them.
    for i, b in enumerate(builds + dists, start=1):
        b["var"] = f"{i}_{b['var']}"
    profiles: list[dict[str, Any]] = []
    for name in settings.profile_names():
        p = project.with_profile(name)
        profiles.append(
            {
                "name": name,
                "env": [(k, v) for k, v in sorted(profile_env(p).items()) if k not in FIXED],
                "tags": sorted(p.profile.tags),
            }
        )
    downloads = go_downloads(lock, version)
    if not downloads:
        raise ConfigError(
            f"{LOCK_NAME} records no download of Go {version} that the Makefile's install-go "
            f"can use (a goproxy h1 or an official sha256 for any of "
            f"{', '.join(p.key for p in INSTALL_PLATFORMS)}): run `gobuild lock`"
        )
    return {
        "go_version": str(version),
        "go_tag": version.tag,
        "default_profile": settings.build.default_profile,
        "out_dir": settings.build.out_dir,
        "state_dir": STATE_DIR_NAME,
        "configured_version": settings.build.version,
        "builds": builds,
        "dists": dists,
        "profiles": profiles,
        "profile_names": " ".join(p["name"] for p in profiles),
        "mirror": project.mirror or "https://dl.google.com/go",
        "mirror_is_default": project.mirror is None,
        "downloads": downloads,
        # gobuild.toml's list only: GOPROXY from the environment is read by make when it
        # runs, never frozen into the file by whoever generated it (Project.goproxy has both).
        "goproxy": settings.toolchain.goproxy or DEFAULT_GOPROXY,
        "scrubbed": SCRUBBED,
        "image_name": image_name(project),
        "dockerfile": project.settings.generate.paths()[DOCKERFILE_NAME],
        "checks": make_settings(project),
        # test, vet and bench run in each module (go -C DIR), as `doit check` does.
        "modules": [[] if m.dir == "." else ["-C", m.dir] for m in project.workspace.modules],
        "module_dirs": [m.dir for m in project.workspace.modules],
        **_make_tools(project, lock, version),
        "release": _make_release(base, dist_list),
        "bench": project.settings.checks.bench,
        "static_env": [(k, v) for k, v in profile_env(base).items() if k in FIXED],
        "shared_cache": _make_shared_cache(project, lock, version),
    }


# How each pinned linter is run over a module's packages, and how make passes it tags.
_LINTER_ARGS = {
    "staticcheck": ((), "$(call tags_flag,)"),
    "golangci-lint": (("run",), "$(patsubst -tags=%,--build-tags=%,$(call tags_flag,))"),
    "govulncheck": ((), "$(call tags_flag,)"),  # and -db, the project's database
}


def _make_tools(project: Project, lock: lockfile.Lock, go: GoVersion) -> dict[str, Any]:
    """The pinned tools the targets run, with what gobuild.lock records of them (no h1
    yet: the target says how to get one, rather than build unverified): ``pinned``, the
    tools to install; ``linters``, the lint targets; ``gotestsum``, the test target's
    runner when ``[checks.test]`` asks for JUnit or reruns (else None)."""
    names: list[str] = [n for n in project.settings.checks.linters if n in _LINTER_ARGS]
    test = project.settings.checks.test
    if test.gotestsum:
        names.append("gotestsum")
    pinned = {name: _pinned(project, lock, name, go) for name in names}
    linters = []
    for name in names:
        if name == "gotestsum":
            continue
        args, tags = _LINTER_ARGS[name]
        if name == "govulncheck":
            args = ("-db", vulndb_url(project))
        linters.append({**pinned[name], "args": list(args), "tags": tags})
    gotestsum = pinned.get("gotestsum")
    if gotestsum is not None:
        flags = ["--format=standard-quiet"]
        if test.rerun_fails:
            flags.append(f"--rerun-fails={test.rerun_fails}")
        gotestsum = {**gotestsum, "flags": flags, "junit": test.junit, "reruns": test.rerun_fails}
    return {"pinned": list(pinned.values()), "linters": linters, "gotestsum": gotestsum}


def _pinned(project: Project, lock: lockfile.Lock, name: str, go: GoVersion) -> dict[str, Any]:
    pin, locked = project.tool_pin(name), lock.tools.get(name)
    if locked is not None and not locked.at(pin):
        locked = None
    module = locked.module if locked else ""
    # The Go that builds it, as gobuild chooses: the project's where the tool's go.mod
    # allows, else [tools] go (the go command switches to it: GOTOOLCHAIN=goX).
    toolchain, problem = _tool_toolchain(project, pin, locked, go)
    return {
        "toolchain": toolchain,
        "problem": problem,
        "name": name,
        "version": pin.version,
        "spec": pin.spec,
        # One directory per version: a new pin is a new file for make to build.
        "bin": f"{STATE_DIR_NAME}/tools/{name}/{pin.version}/{name}",
        "module_version": f"{module}@{pin.version}",
        # Where the package is in its module: built there when `go install` refuses the
        # module (replace/exclude directives, or a proxy that will not list versions).
        "package_dir": locked.package_dir if locked else ".",
        "h1": locked.h1 if locked else "",
        "mismatch": locked.differs(name) if locked else "",
        "unlocked": f"{name}: gobuild.lock records no {pin.spec}: run "
        "`gobuild lock` to resolve and lock it",
    }


def _make_shared_cache(
    project: Project, lock: lockfile.Lock, go: GoVersion
) -> dict[str, Any] | None:
    """``[cache] remote`` for make: the plugin's tool target, the verifier's source and
    build directory, the plugin's arguments after ``--cache-dir`` (the staging directory
    is found when make runs: it lives in that machine's GOCACHE), and the URL to probe."""
    cache = project.settings.cache
    if cache.remote is None:
        return None
    command.require_go(go, project.config_file)
    argv = command.plugin_argv(cache, Path("plugin"), Path("staging"))
    source = command.verifier_source()
    return {
        "remote": cache.remote,
        "plugin": _pinned(project, lock, "go-cache-plugin", go),
        "verifier_dir": f"{STATE_DIR_NAME}/cacheprog/{command.verifier_name(source)}",
        "verifier": source.splitlines(),
        "args": argv[2:],  # after the program and --cache-dir
        "staging": command.staging_name(cache),
        "probe_url": command.probe_url(cache),
        "warning": command.unanswered(cache.remote),
    }


# Stands for the version in an archive's name: make fills in $(RELEASE_LABEL).
_LABEL = "\0"


def _make_release(project: Project, plans: list[BuildPlan]) -> dict[str, Any]:
    """``make release``: the archives (names with make's version label, the archiver's
    operands) and the archiver's source, one line each."""
    made = []
    for plan in archive_plans(project, plans):
        head, tail = plan.name_for(_LABEL).split(_LABEL)
        made.append({
            "name": f"{escape.make_value(head)}$(RELEASE_LABEL){escape.make_value(tail)}",
            "members": [m.operand(Path()) for m in plan.members],
        })  # fmt: skip
    return {"archives": made, "archiver": archiver_source().splitlines()}


def _tool_toolchain(
    project: Project, pin: ToolPin, locked: ToolLock | None, go: GoVersion
) -> tuple[str, str]:
    """GOTOOLCHAIN for building the tool (``local``, or ``goX`` for ``[tools] go``), and
    the one line its target stops with when neither Go builds it (else "")."""
    needs = GoVersion.parse(locked.go) if locked is not None and locked.go else None
    if needs is None or go >= needs:
        return "local", ""
    wanted = project.tools_go
    exact = VersionRequest.parse(wanted).exact if wanted else None
    if exact is None or exact < needs:
        return "local", (
            f"{pin.name} {pin.version} needs Go {needs} or later (its go.mod), newer than "
            f"the project's {go}: set [tools] go to an exact release of at least {needs}"
        )
    return f"go{exact}", ""


def go_downloads(lock: lockfile.Lock, version: GoVersion) -> list[dict[str, str]]:
    """What install-go may fetch for each platform it knows, in the order the recipe's
    ``case`` lists them: the module zip (with its h1 as hex) and/or go.dev's archive.

    Platforms with neither are left out (:func:`install_gaps` names them). Raises
    :class:`~gobuild.errors.ConfigError` for an entry a shell could not check: an
    h1 that is not 32 bytes, a module zip under another name than the proxy's.
    """
    downloads = []
    for platform in INSTALL_PLATFORMS:
        zipped = lock.artifact(version, platform, "goproxy")
        official = lock.artifact(version, platform, "official")
        entry = {"key": platform.key}
        if zipped is not None and zipped.h1:
            # The recipe derives the module root (golang.org/toolchain@VERSION/) from the
            # file name, so only the proxy's own name is accepted.
            wanted = toolchain_zip(version, platform)
            if zipped.filename != wanted:
                raise ConfigError(
                    f"{LOCK_NAME}: the goproxy entry for {platform.key} names "
                    f"{zipped.filename!r}, not {wanted!r}; run `gobuild lock`"
                )
            try:
                hexed = h1_hex(zipped.h1)
            except GobuildError as exc:
                raise ConfigError(f"{LOCK_NAME}: {platform.key}: {exc}") from None
            entry.update(zip=zipped.filename, h1=zipped.h1, h1_hex=hexed)
        if official is not None and official.sha256:
            entry.update(archive=official.filename, sha256=_hex64(official.sha256, platform))
        if len(entry) > 1:
            downloads.append(entry)
    return downloads


def install_gaps(lock: lockfile.Lock, version: GoVersion) -> list[Platform]:
    """The platforms install-go knows for which gobuild.lock records nothing it can use."""
    present = {d["key"] for d in go_downloads(lock, version)}
    return [p for p in INSTALL_PLATFORMS if p.key not in present]


def _hex64(sha256: str, platform: Platform) -> str:
    # The recipe compares this text with sha256sum's output: anything else could never match
    # (and would reach a shell word unchecked).
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise ConfigError(f"{LOCK_NAME}: {platform.key}: {sha256!r} is not a hex sha256")
    return sha256


def _make_build(
    project: Project, plan: BuildPlan, binaries: Mapping[str, BinarySection]
) -> dict[str, Any]:
    """One build recipe's pieces: everything static, the volatile values as make refs."""
    binary = binaries[plan.binary]
    env = dict(plan.env)
    keys = [*FIXED, *(k for k in ("GOOS", "GOARCH", *variant_variables()) if k in env)]
    name = Path(plan.output).name
    return {
        "name": plan.binary,
        "target": name,
        "var": re.sub(r"[^A-Za-z0-9_]", "_", name),
        "chdir": list(plan.chdir),
        "package": plan.module_package,
        "output": plan.in_module(plan.output),
        "flags": [f for f in plan.flags if not f.startswith("-tags=")],
        "tags": tag_union(project, binary, selected=False),
        "ldflags": [quote_field(f) for f in plan.ldflags],
        "xvars": [
            {"var": var, "make": key.upper()}
            if value is None
            else {"static": quote_field(f"-X={var}={value}")}
            for var, key, value in plan.xvar_values()
        ],
        "env": [(k, env[k]) for k in keys],
    }
