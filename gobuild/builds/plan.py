"""Build plans: the one place the go command line is decided.

A :class:`BuildPlan` is pure data computed from the project: flags, ldflags,
tags, environment and output path, with the volatile values (version, commit,
date, tree state) kept symbolic. doit tasks, the Makefile and the Dockerfile
all render the same plan, so their binaries are the same bytes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gobuild.builds.flags import mod_flags, tag_union, tags_flag
from gobuild.builds.goenv import SCRUBBED, go_environ, profile_env
from gobuild.errors import ConfigError
from gobuild.project import gomod
from gobuild.project.config import Project
from gobuild.project.platforms import Target
from gobuild.project.settings import BinarySection
from gobuild.project.versions import GoVersion

VALUE_KEYS = ("version", "commit", "date", "tree_state", "go_version")
STATIC_LDFLAGS = ("-s", "-w", "-buildid=")


@dataclass(frozen=True)
class BuildPlan:
    """Everything about one ``go build`` except the volatile embedded values."""

    binary: str
    package: str
    target: Target | None  # None: the host, whatever it is
    output: str  # relative to the module root
    flags: tuple[str, ...]  # go build flags before -ldflags
    ldflags: tuple[str, ...]  # static linker flags (quoted per element when rendered)
    xvars: tuple[tuple[str, str], ...]  # (Go variable, value key)
    env: tuple[tuple[str, str], ...]
    go_version: str
    profile: str
    tags: tuple[str, ...]
    configured_version: str | None = None  # [build] version, instead of git describe
    # The package's module, relative to the project root: the go command runs there
    # (`go -C DIR`), so a nested module builds as its own, or as a go.work member.
    module_dir: str = "."

    @property
    def chdir(self) -> tuple[str, ...]:
        """``-C DIR`` when the package's module is not the root's, else nothing."""
        return () if self.module_dir == "." else ("-C", self.module_dir)

    def in_module(self, path: str) -> str:
        """``path`` (relative to the project root, or absolute) as the go command reads
        it from the module's directory: ``./tools/gen`` → ``./gen``, ``dist/gen`` →
        ``../dist/gen``."""
        if self.module_dir == "." or posixpath.isabs(path):
            return path
        rel = posixpath.relpath(posixpath.normpath(path), self.module_dir)
        if rel == "." or rel.startswith("..") or not path.startswith("./"):
            return rel
        return f"./{rel}"  # a package path stays a path, not an import path

    @property
    def module_package(self) -> str:
        """The package as the go command names it from the module's directory."""
        return self.in_module(self.package)

    def ldflags_fields(self, values: Mapping[str, str]) -> list[str]:
        """The linker flags as separate fields, the -X values filled in."""
        return [*self.ldflags, *(f"-X={var}={values[key]}" for var, key in self.xvars)]

    def ldflags_string(self, values: Mapping[str, str]) -> str:
        """The single ``-ldflags`` argument, quoted the way the go command splits it."""
        return " ".join(quote_field(f) for f in self.ldflags_fields(values))

    def argv(self, go: str, values: Mapping[str, str], output: str | None = None) -> list[str]:
        """The go command line; ``output`` overrides the plan's (e.g. a temp file)."""
        return [
            go,
            *self.chdir,
            "build",
            *self.flags,
            f"-ldflags={self.ldflags_string(values)}",
            "-o",
            self.in_module(output or self.output),
            self.module_package,
        ]

    def environ(self, goroot: Path, base: Mapping[str, str]) -> dict[str, str]:
        """``base`` without variables that change the output, plus the plan's own."""
        return go_environ(goroot, base, scrub=SCRUBBED, env=dict(self.env))

    def xvar_values(self) -> list[tuple[str, str, str | None]]:
        """Each ``-X`` variable in order: (Go variable, value key, value), the value known
        when the plan is rendered (a configured version, the Go version) or None when
        only a build can know it (from git, or from build args)."""
        known = {"go_version": f"go{self.go_version}"}
        if self.configured_version is not None:
            known["version"] = self.configured_version
        return [(var, key, known.get(key)) for var, key in self.xvars]

    def fingerprint(self) -> str:
        """A digest of every field: any change to the plan means rebuild."""
        data = json.dumps(dataclasses.asdict(self), sort_keys=True)
        return hashlib.sha256(data.encode()).hexdigest()


def quote_field(field: str) -> str:
    """Quote one -ldflags field for cmd/go's splitter (cmd/internal/quoted).

    Fields split on white space; a field may be wrapped in ' or ", with no
    escapes inside, and a quote only counts at the start of a field. So a field
    needs quotes only if it has white space or starts with a quote, and cannot
    be carried at all if it needs quotes and contains both kinds.
    """
    if field and not any(c in field for c in " \t\n\r") and field[0] not in "'\"":
        return field
    for q in ("'", '"'):
        if q not in field:
            return f"{q}{field}{q}"
    raise ConfigError(
        f"cannot pass {field!r} to the go linker: a value with white space cannot contain "
        "both ' and \" (the go command has no escape for it)"
    )


def check_values(plan: BuildPlan, values: Mapping[str, str]) -> None:
    """Fail early, with the value named, if an embedded value cannot be carried."""
    for field in plan.ldflags_fields(values):
        quote_field(field)
        if "\n" in field or "\r" in field or "\x00" in field:
            raise ConfigError(f"embedded value {field!r} spans lines; it cannot be passed")


def build_plan(
    project: Project, binary: BinarySection, go_version: str, target: Target | None = None
) -> BuildPlan:
    """The plan for one binary: the host build into dist/NAME, or one dist target."""
    build = project.settings.build
    module_dir = project.module_dir(binary.package)
    tags = tag_union(project, binary)
    flags = ["-trimpath"]
    if not build.vcs:
        flags.append("-buildvcs=false")
    flags += [*mod_flags(project, module_dir), *tags_flag(tags), *build.flags]
    cgo = binary.cgo if binary.cgo is not None else build.cgo
    env = profile_env(project, cgo)
    if target is not None:
        env.update(target.env())
        output = f"{build.out_dir}/{target.artifact(binary.name)}"
    else:
        output = f"{build.out_dir}/{binary.name}"
    variables = build.variables
    xvars = tuple((getattr(variables, key), key) for key in VALUE_KEYS)
    if module_dir != "." and GoVersion.parse(go_version) < GoVersion(1, 20, 0):
        raise ConfigError(
            f"binary {binary.name!r}: {binary.package} is in the module at {module_dir}/, "
            f"and building there takes `go -C` (Go 1.20 or later; the pin is {go_version})"
        )
    return BuildPlan(
        binary=binary.name,
        package=binary.package,
        target=target,
        output=output,
        flags=tuple(flags),
        ldflags=(*STATIC_LDFLAGS, *build.ldflags, *binary.ldflags),
        xvars=xvars,
        env=tuple(sorted(env.items())),
        go_version=go_version,
        profile=project.profile_name,
        tags=tags,
        configured_version=build.version,
        module_dir=module_dir,
    )


def checked_binaries(
    project: Project, binaries: list[BinarySection] | None = None
) -> list[BinarySection]:
    """The binaries to build (``project.binaries()`` by default), each verified to be a
    main package in the module."""
    binaries = project.binaries() if binaries is None else binaries
    if not binaries:
        raise ConfigError(f"{project.root}: no main package to build (and no [[binaries]])")
    for b in binaries:
        folder = project.root / b.package
        if not folder.is_dir():
            raise ConfigError(f"binary {b.name!r}: package {b.package} does not exist")
        if not gomod.is_main_package(folder):
            raise ConfigError(f"binary {b.name!r}: {b.package} is not a main package")
    return binaries


def host_plans(
    project: Project, go_version: str, binaries: list[BinarySection] | None = None
) -> list[BuildPlan]:
    """One plan per binary for the host platform."""
    return [build_plan(project, b, go_version) for b in checked_binaries(project, binaries)]


def dist_plans(
    project: Project, go_version: str, binaries: list[BinarySection] | None = None
) -> list[BuildPlan]:
    """One plan per binary per configured platform."""
    targets = [Target.parse(p) for p in project.settings.dist.platforms]
    binaries = checked_binaries(project, binaries)
    return [build_plan(project, b, go_version, t) for b in binaries for t in targets]
