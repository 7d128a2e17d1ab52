"""gobuild.toml, go.mod and the environment → a validated, frozen :class:`Project`.

This is the one place that reads configuration files and turns gobuild's
environment variables into values; everything downstream receives plain
fields. Validation happens completely at load time, and every error is one
line naming the file and key (or the variable).
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs
from pydantic import BaseModel, ValidationError

from gobuild.errors import ConfigError, GobuildError
from gobuild.project import gomod, workspace
from gobuild.project.environ import Environment, current
from gobuild.project.layout import CONFIG_NAME, LOCK_NAME, state_dir
from gobuild.project.names import SourceName
from gobuild.project.platforms import Platform, Target
from gobuild.project.settings import (
    BinarySection,
    ProfileSection,
    Settings,
    check_mirror_url,
    check_tag,
)
from gobuild.project.toolpins import GO_KEY, ToolPin, pin_for
from gobuild.project.versions import VersionRequest

# The go command's GOPROXY when none is set.
DEFAULT_GOPROXY = "https://proxy.golang.org,direct"


def default_binary_name(space: workspace.Workspace, package: str) -> str:
    """:func:`binary_name` for ``package`` (relative to the project root) in its module."""
    module = space.module_of(package)
    return binary_name(module.gomod.module, workspace.in_module(package, module.dir))


def binary_name(module: str, package: str) -> str:
    """The default file name for a main package, as ``go build`` picks it.

    The last path element (for ``.``, the module's, skipping a ``/vN`` major
    version suffix), with characters outside the safe set replaced by ``_``.
    """
    elements = [e for e in package.split("/") if e not in (".", "")]
    if not elements:
        elements = module.rstrip("/").split("/")
        if len(elements) > 1 and re.fullmatch(r"v[2-9]\d*|v[1-9]\d+", elements[-1]):
            elements.pop()
    name = re.sub(r"[^A-Za-z0-9._+-]", "_", elements[-1]).lstrip("._+-")[:128]
    return name or "app"


@dataclass(frozen=True)
class GoPin:
    """The Go version a project asks for, and which line said so."""

    request: VersionRequest
    origin: str


@dataclass(frozen=True)
class Project:
    """A loaded, validated project: everything later stages need, as fields."""

    root: Path
    config_file: Path
    settings: Settings
    workspace: workspace.Workspace
    cache_dir: Path
    mirror: str | None
    env: Environment
    profile_name: str = "dev"
    env_tags: tuple[str, ...] = ()
    source_date_epoch: int | None = None

    @property
    def gomod(self) -> gomod.GoMod:
        """The root's go.mod (else the first module's): its path names the project."""
        return self.workspace.primary.gomod

    @property
    def profile(self) -> ProfileSection:
        """The active profile's settings."""
        return self.settings.profile(self.profile_name)

    def with_profile(self, name: str | None, origin: str = "--profile") -> Project:
        """This project with another active profile (None keeps the current one)."""
        if not name:
            return self
        known = self.settings.profile_names()
        if name not in known:
            raise ConfigError(f"{origin}: unknown profile {name!r} (known: {', '.join(known)})")
        return dataclasses.replace(self, profile_name=name)

    @property
    def out_dir(self) -> Path:
        """Where binaries are written (dist/ by default)."""
        return self.root / self.settings.build.out_dir

    @property
    def lock_file(self) -> Path:
        """gobuild.lock beside gobuild.toml (users commit it)."""
        return self.root / LOCK_NAME

    @property
    def state_dir(self) -> Path:
        """gobuild's own working state (gitignored)."""
        return state_dir(self.root)

    def generated(self, role: str) -> Path:
        """Where the generated file ``role`` (``Dockerfile``, ``.dockerignore``,
        ``Makefile``) goes: ``[generate]``'s path, else the role's own name."""
        return self.root / self.settings.generate.paths()[role]

    @property
    def vendored(self) -> bool:
        """Whether the module vendors its dependencies (vendor/modules.txt exists)."""
        return (self.root / "vendor" / "modules.txt").is_file()

    @property
    def sources(self) -> tuple[SourceName, ...]:
        """Toolchain sources in the order to try them."""
        return tuple(self.settings.toolchain.sources)

    # Toolchains are fetched and verified as the active profile's go command would fetch
    # modules: [toolchain] goproxy first, then the profile's settings, then the environment.

    @property
    def goproxy(self) -> str:
        """The GOPROXY list toolchains come from: ``[toolchain] goproxy``, the profile's
        ``goproxy``, GOPROXY, else Go's default."""
        return (
            self.settings.toolchain.goproxy
            or self.profile.goproxy
            or self.env.goproxy
            or DEFAULT_GOPROXY
        )

    @property
    def gosumdb(self) -> str | None:
        """GOSUMDB as the profile or the environment sets it (None: Go's default)."""
        return self.profile.gosumdb or self.env.gosumdb

    @property
    def gonosumdb(self) -> str:
        """GONOSUMDB patterns (else GOPRIVATE's), the profile's before the environment's."""
        return self.profile.gonosumdb or self.profile.goprivate or self.env.gonosumdb

    def lock_platforms(self) -> list[Platform]:
        """The platforms gobuild.lock records: ``[toolchain] lock_platforms`` plus ``[dist]``'s."""
        wanted = {Platform.parse(p) for p in self.settings.toolchain.lock_platforms}
        dist = (Target.parse(p) for p in self.settings.dist.platforms)
        wanted.update(Platform(t.goos, t.goarch) for t in dist)
        return sorted(wanted)

    def binaries(self) -> list[BinarySection]:
        """The configured binaries, or one per main package found in the project's modules."""
        if self.settings.binaries:
            return list(self.settings.binaries)
        platforms = [(p.goos, p.goarch) for p in self.lock_platforms()]
        return [
            BinarySection(name=default_binary_name(self.workspace, pkg), package=pkg)
            for pkg in self.workspace.main_packages(self.root, platforms)
        ]

    def tool_pin(self, name: str) -> ToolPin:
        """The pin of the tool ``name`` (``[tools]``, else gobuild's default)."""
        return pin_for(self.settings.tools, name)

    @property
    def tools_go(self) -> str | None:
        """``[tools] go``: the Go that builds a tool the project's own Go is too old for."""
        return self.settings.tools.get(GO_KEY)

    def module_dir(self, package: str) -> str:
        """The directory (relative to the root) of the module holding ``package``."""
        return self.workspace.module_of(package).dir

    def go_pin(self) -> GoPin:
        """The Go request: gobuild.toml first, then a committed go.work's toolchain or go
        line, else the highest any module's go.mod asks for (toolchain line, else go)."""
        if self.settings.go.version:
            return GoPin(
                VersionRequest.parse(self.settings.go.version), f"{CONFIG_NAME} go.version"
            )
        line = self.workspace.go_line()
        if line is not None:
            path, value, kind = line
            try:
                where = path.relative_to(self.root).as_posix()
                return GoPin(VersionRequest.parse(value), f"{where} {kind} line")
            except GobuildError as exc:
                raise ConfigError(f"{path}: {exc}") from exc
        mod = self.gomod
        raise ConfigError(
            f"no Go version: set go.version in {self.config_file} or a go line in {mod.path}"
        )


def load_project(start: Path, env: Environment | None = None) -> Project:
    """Find the project at or above ``start`` (:func:`~.workspace.find_root`) and load its
    gobuild.toml (optional) and modules.

    ``env`` is the environment the front end read (default: the process's, now).
    """
    env = current() if env is None else env
    root = workspace.find_root(start.resolve())
    if root is None:
        raise ConfigError(f"not inside a Go module: no go.mod in {start} or any parent directory")
    config_file = root / CONFIG_NAME
    settings = load_settings(config_file) if config_file.exists() else Settings()
    mirror = settings.toolchain.mirror
    if env.mirror:
        try:
            mirror = check_mirror_url(env.mirror)
        except ValueError as exc:
            raise ConfigError(f"GOBUILD_GO_MIRROR: {exc}") from exc
    return Project(
        root=root,
        config_file=config_file,
        settings=settings,
        workspace=workspace.load(root),
        cache_dir=cache_dir(root, settings, env),
        mirror=mirror.rstrip("/") if mirror else None,
        env=env,
        profile_name=settings.build.default_profile,
        env_tags=_env_tags(env.tags),
        source_date_epoch=_source_date_epoch(env.source_date_epoch),
    ).with_profile(env.profile, "GOBUILD_PROFILE")


def _env_tags(text: str) -> tuple[str, ...]:
    tags = [t for t in re.split(r"[,\s]+", text) if t]
    try:
        return tuple(check_tag(t) for t in tags)
    except ValueError as exc:
        raise ConfigError(f"GOBUILD_TAGS: {exc}") from None


def _source_date_epoch(text: str | None) -> int | None:
    if text is None or text == "":
        return None
    if not text.isascii() or not text.isdigit() or len(text) > 12:
        raise ConfigError(
            f"SOURCE_DATE_EPOCH: must be a whole number of seconds since 1970, got {text!r}"
        )
    return int(text)


def cache_dir(root: Path, settings: Settings, env: Environment) -> Path:
    """GOBUILD_CACHE, else toolchain.cache_dir (relative to the project), else the user cache."""
    if env.cache:
        return Path(env.cache).expanduser().resolve()
    if settings.toolchain.cache_dir:
        return (root / Path(settings.toolchain.cache_dir).expanduser()).resolve()
    return Path(platformdirs.user_cache_dir("gobuild", appauthor=False))


def load_settings(path: Path) -> Settings:
    """Parse and validate one gobuild.toml; errors are one line naming file and key."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    return validate(data, path)


def validate(data: Mapping[str, Any], path: Path) -> Settings:
    """Validate parsed TOML ``data`` into :class:`Settings`."""
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        problems = [_describe(err, data) for err in exc.errors()]
        raise ConfigError(f"{path}: " + "; ".join(problems)) from None


def _describe(err: Mapping[str, Any], data: Mapping[str, Any]) -> str:
    loc = [str(p) for p in err["loc"]]
    key = ".".join(loc) or "(top level)"
    if err["type"] == "extra_forbidden":
        known = _known_keys(loc[:-1])
        hint = difflib.get_close_matches(loc[-1], known, n=1)
        suggestion = f"; did you mean {'.'.join([*loc[:-1], hint[0]])!r}?" if hint else ""
        where = ".".join(loc[:-1]) or "the top level"
        return f"unknown key {key!r}{suggestion} (known keys in {where}: {', '.join(known)})"
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"].endswith("_type"):
        value = _lookup(data, loc)
        return f"{key}: {msg}, got {type(value).__name__} {value!r}"
    return f"{key}: {msg}"


def _known_keys(loc: list[str]) -> list[str]:
    model: type[BaseModel] = Settings
    for part in loc:
        if part.isdigit():
            continue  # an index into an array of tables
        field = model.model_fields.get(part)
        ann = field.annotation if field else None
        if typing.get_origin(ann) is list:
            ann = typing.get_args(ann)[0]
        if not (isinstance(ann, type) and issubclass(ann, BaseModel)):
            return []
        model = ann
    return sorted(model.model_fields)


def _lookup(data: Any, loc: list[str]) -> Any:
    for part in loc:
        if isinstance(data, Mapping):
            data = data.get(part)
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data
