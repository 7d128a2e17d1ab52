"""The gobuild.toml schema: one strict, frozen pydantic model per section.

Every value that later lands in a go command line, a Dockerfile or a Makefile
is checked here, at load time, so the error names the file and key instead of
surfacing as a build failure.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gobuild.errors import GobuildError
from gobuild.project.layout import (
    DOCKERFILE_NAME,
    DOCKERIGNORE_NAME,
    GITHUB_WORKFLOW_NAME,
    GITLAB_CI_NAME,
    MAKEFILE_NAME,
    RELEASE_DOCKERFILE_NAME,
    STATE_DIR_NAME,
)
from gobuild.project.names import Enforcement, Linter, Runtime, SourceName
from gobuild.project.platforms import Platform, Target
from gobuild.project.quantities import MAX_CPUS, Memory, parse_duration, parse_size
from gobuild.project.remotes import check_builder, check_endpoint, check_region, parse_remote
from gobuild.project.toolpins import check_tools
from gobuild.project.versions import VersionRequest

DEFAULT_PROFILES = ("dev", "test", "prod")

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")
_PACKAGE = re.compile(r"^\.(/[A-Za-z0-9._+~-]+)*$")
# Build constraint identifiers: letters, digits, underscore, dot (go/build/constraint).
_TAG = re.compile(r"^[A-Za-z0-9_.]+$")
# An -X target: import path, then ".", then a Go identifier.
_XVAR = re.compile(r"^[A-Za-z0-9_.~+/-]*[A-Za-z0-9_~+-]\.[A-Za-z_][A-Za-z0-9_]*$")
_OUT_DIR = re.compile(r"^[A-Za-z0-9_.+][A-Za-z0-9_.+-]*(/[A-Za-z0-9_.+][A-Za-z0-9_.+-]*)*$")
_PROFILE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
# A registry host (a dot, a port or localhost tells it from a path) and a lower-case path.
_REPOSITORY = re.compile(
    r"^(?:[a-z0-9-]+(?:\.[a-z0-9-]+)+|localhost|\[[0-9a-f:]+\])(?::[0-9]{1,5})?"
    r"(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)+$"
)


def _line(value: str, what: str) -> str:
    if any(c in value for c in "\n\r\x00"):
        raise ValueError(f"{what} must be a single line without NUL")
    return value


def check_tag(tag: str) -> str:
    """A Go build tag, or ValueError."""
    if not _TAG.match(tag):
        raise ValueError(f"{tag!r} is not a valid build tag (letters, digits, '_' and '.')")
    return tag


def check_xvar(target: str) -> str:
    """An ``-X`` target of the form ``import/path.name``, or ValueError."""
    if not _XVAR.match(target):
        raise ValueError(f"{target!r} is not a Go variable like main.version or pkg/path.name")
    return target


def check_platform(text: str) -> str:
    """``os/arch`` or ``os/arch/variant`` (GOAMD64 v1-v4, GOARM 5-7, GO386), or ValueError."""
    try:
        Target.parse(text)
    except GobuildError as exc:
        raise ValueError(str(exc)) from None
    return text


class Section(BaseModel):
    """Base of every section: unknown keys rejected, no type coercion, immutable."""

    # strict: TOML already has types; "1.22" must not silently become 1.22.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class GoSection(Section):
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


class ToolchainSection(Section):
    """``[toolchain]``: where Go distributions come from and where they are kept."""

    sources: Annotated[list[SourceName], Field(min_length=1)] = ["goproxy", "official", "pypi"]
    # A GOPROXY list for the module-proxy source (else the GOPROXY variable, else Go's default).
    goproxy: str | None = None
    mirror: str | None = None
    # Platforms gobuild.lock records hashes for, besides [dist]'s: every machine the
    # team builds on, and what the generated Makefile's install-go serves.
    lock_platforms: list[str] = [
        "linux/amd64",
        "linux/arm64",
        "darwin/amd64",
        "darwin/arm64",
        "windows/amd64",
        "windows/arm64",
    ]
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

    @field_validator("goproxy")
    @classmethod
    def _check_goproxy(cls, value: str | None) -> str | None:
        if value is not None:
            check_goproxy(value)
        return value

    @field_validator("lock_platforms")
    @classmethod
    def _check_lock_platforms(cls, value: list[str]) -> list[str]:
        for text in value:
            try:
                Platform.parse(text)
            except GobuildError as exc:
                raise ValueError(str(exc)) from None
        if len(set(value)) != len(value):
            raise ValueError("each platform may appear once")
        return value


def check_goproxy(value: str) -> str:
    """Accept a GOPROXY list: http(s):// or file:// URLs, ``direct`` and ``off``,
    separated by ``,`` or ``|``; reject anything that could not be one."""
    from urllib.parse import urlsplit  # noqa: PLC0415 - only proxy lists need it

    _line(value, "goproxy")
    for entry in re.split(r"[,|]", value):
        if entry in ("direct", "off"):
            continue
        parts = urlsplit(entry)
        if parts.scheme not in ("http", "https", "file") or (
            parts.scheme != "file" and not parts.netloc
        ):
            raise ValueError(
                f"goproxy entry {entry!r} is not an http://, https:// or file:// URL, "
                "'direct' or 'off'"
            )
        if any(c.isspace() for c in entry):
            raise ValueError(f"goproxy entry {entry!r} contains whitespace")
    return value


def check_mirror_url(value: str) -> str:
    """Accept http(s) and file:// base URLs; reject everything else."""
    from urllib.parse import urlsplit  # noqa: PLC0415 - only mirrors need it

    parts = urlsplit(value)
    if parts.scheme not in ("http", "https", "file"):
        raise ValueError(f"mirror must be an http://, https:// or file:// URL, not {value!r}")
    if parts.scheme != "file" and not parts.netloc:
        raise ValueError(f"mirror URL has no host: {value!r}")
    _line(value, "mirror")
    return value.rstrip("/")


class Variables(Section):
    """``[build.variables]``: the Go variables receiving the embedded values (``-X``)."""

    version: str = "main.version"
    commit: str = "main.commit"
    date: str = "main.date"
    tree_state: str = "main.treeState"
    go_version: str = "main.goVersion"

    @field_validator("*")
    @classmethod
    def _xvar(cls, value: str) -> str:
        return check_xvar(value)


class BuildSection(Section):
    """``[build]``: how every binary is built."""

    out_dir: str = "dist"
    cgo: bool = False
    tags: list[str] = []
    flags: list[str] = []
    ldflags: list[str] = []
    version: str | None = None
    default_profile: str = "dev"
    # Go's own VCS stamping (vcs.revision, vcs.time, vcs.modified in `go version -m`).
    # It needs .git beside the sources, which an image build never has: turn it off
    # when the image's binary must be the same bytes as the host's.
    vcs: bool = True
    variables: Variables = Variables()

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        return [check_tag(t) for t in value]

    @field_validator("flags")
    @classmethod
    def _flags(cls, value: list[str]) -> list[str]:
        for flag in value:
            _line(flag, "a build flag")
            if not flag.startswith("-"):
                raise ValueError(f"{flag!r}: build flags start with '-' (use -flag=value)")
            if flag.split("=", 1)[0].lstrip("-") in _OWNED_FLAGS:
                raise ValueError(f"{flag!r}: gobuild sets this flag itself; use the config keys")
        return value

    @field_validator("ldflags", "version")
    @classmethod
    def _single_line(cls, value: list[str] | str | None) -> list[str] | str | None:
        for item in [value] if isinstance(value, str) else value or []:
            _line(item, "the value")
        return value

    @field_validator("out_dir")
    @classmethod
    def _out_dir(cls, value: str) -> str:
        parts = value.replace("\\", "/").split("/")
        if not value or value.startswith("/") or ".." in parts or parts[0] in (".", ""):
            raise ValueError(f"{value!r} must be a relative directory inside the module, like dist")
        # It lands in shell recipes, .dockerignore patterns and rm -rf: plain names only.
        if not _OUT_DIR.match(value):
            raise ValueError(
                f"{value!r}: only letters, digits, '.', '_', '+', '-', '/' (no leading '-')"
            )
        if parts[0] in (".git", STATE_DIR_NAME, "vendor"):
            raise ValueError(f"{value!r} would overwrite {parts[0]}/")
        return value


# Flags gobuild decides; allowing them in `flags` would let two sources of truth disagree.
_OWNED_FLAGS = {"o", "ldflags", "tags", "trimpath", "mod", "buildvcs"}


class BinarySection(Section):
    """One ``[[binaries]]`` entry: a main package and the file name it builds to."""

    name: str
    package: str
    cgo: bool | None = None
    tags: list[str] = []
    ldflags: list[str] = []

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

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        return [check_tag(t) for t in value]

    @field_validator("ldflags")
    @classmethod
    def _ldflags(cls, value: list[str]) -> list[str]:
        return [_line(v, "an ldflag") for v in value]


class DistSection(Section):
    """``[dist]``: the cross-compile matrix."""

    platforms: list[str] = ["linux/amd64", "linux/arm64", "darwin/arm64", "windows/amd64"]

    @field_validator("platforms")
    @classmethod
    def _platforms(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("each platform may appear once")
        return [check_platform(p) for p in value]


class ReleaseSection(Section):
    """``[release]``: what each archive holds beside its binary."""

    # Glob patterns relative to gobuild.toml's directory; each must match a file. The
    # defaults match what is there (a project without a LICENSE ships without one).
    files: list[str] | None = None
    # The Ed25519 key that signs the release's provenance: "env:VAR" (the PEM in that
    # variable) or a PEM file outside the repository (never committed).
    signing_key: str | None = None
    # The public key `gobuild release verify` checks signatures with (may be committed).
    verify_key: str | None = None
    # An OCI image index of the released linux binaries, written into the release
    # (image/, an OCI image layout) on [docker]'s runtime base, pulled from its registry.
    image: bool = False
    # Where `doit publish` pushes that index, tagged with the version: "HOST/PATH"
    # (e.g. "ghcr.io/acme/app"; "localhost:5000/app" goes over plain http).
    repository: str | None = None

    @field_validator("signing_key", "verify_key")
    @classmethod
    def _key(cls, value: str | None) -> str | None:
        return None if value is None else _line(value, "the key")

    @field_validator("repository")
    @classmethod
    def _repository(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if not _REPOSITORY.match(value):
            raise ValueError(
                f"{value!r}: a repository is HOST[:PORT]/PATH in lower case, without a tag "
                "or digest (e.g. ghcr.io/acme/app)"
            )
        return value

    @field_validator("files")
    @classmethod
    def _files(cls, value: list[str] | None) -> list[str] | None:
        for pattern in value or []:
            _line(pattern, "files")
            if pattern.startswith("/") or ".." in pattern.split("/"):
                raise ValueError(f"{pattern!r}: a path inside the project")
        return value


class ProfileSection(Section):
    """``[profiles.NAME]``: module-fetching environment and tags for one environment."""

    goproxy: str | None = None
    goprivate: str | None = None
    gonoproxy: str | None = None
    gonosumdb: str | None = None
    gosumdb: str | None = None
    goflags: list[str] = []
    tags: list[str] = []

    @field_validator("goproxy", "goprivate", "gonoproxy", "gonosumdb", "gosumdb")
    @classmethod
    def _env_value(cls, value: str | None) -> str | None:
        if value is not None:
            _line(value, "the value")
        return value

    @field_validator("goflags")
    @classmethod
    def _goflags(cls, value: list[str]) -> list[str]:
        for flag in value:
            # GOFLAGS is split on spaces by the go command: a space cannot be carried.
            if not flag.startswith("-") or any(c.isspace() for c in flag):
                raise ValueError(f"{flag!r}: GOFLAGS entries are -flag[=value] without spaces")
        return value

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        return [check_tag(t) for t in value]


_IMAGE_PART = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
# [registry[:port]/]path[/path...] as the distribution reference grammar has it.
_IMAGE = re.compile(rf"^(?:[A-Za-z0-9.-]+(?::[0-9]+)?/)?{_IMAGE_PART}(?:/{_IMAGE_PART})*$")
_IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_ALPINE = re.compile(r"^[0-9]+\.[0-9]+(?:\.[0-9]+)?$")
_LABEL_KEY = re.compile(r"^[a-z0-9](?:[a-z0-9.-]{0,126}[a-z0-9])?$")
_DURATION = re.compile(r"^[0-9]{1,6}(?:ms|s|m|h)$")
_OWN_LABELS = {
    f"org.opencontainers.image.{k}" for k in ("version", "revision", "created", "title", "source")
}


def check_image(value: str) -> str:
    """An image repository such as ``golang`` or ``registry:5000/team/app``, or ValueError."""
    if len(value) > 255 or not _IMAGE.match(value):
        raise ValueError(
            f"{value!r} is not an image name (lowercase path parts, optional registry/)"
        )
    return value


def _split_tag(ref: str) -> tuple[str, str]:
    """``ref`` as repository and tag ('' without one): a colon in the last path element
    starts the tag; one before it is a registry's port."""
    if ":" not in ref.rsplit("/", maxsplit=1)[-1]:
        return ref, ""
    repository, _, tag = ref.rpartition(":")
    return repository, tag


class DockerSection(Section):
    """``[docker]``: the generated Dockerfile and ``doit image``."""

    name: str | None = None  # image repository; default: the entrypoint binary's name
    binary: str | None = None  # the [[binaries]] entry the image runs; default: the first
    profile: str | None = None  # whose GOPROXY/GOPRIVATE/... the image build uses
    go_image: str = "golang"
    go_digest: str | None = None
    alpine_version: str = "3.20"
    runtime: Runtime = "alpine"
    runtime_image: str | None = None  # default: alpine, or gcr.io/distroless/static-debian12
    runtime_tag: str | None = None  # default: the alpine version, or "nonroot"
    runtime_digest: str | None = None
    user: Annotated[int, Field(ge=1, le=2**31 - 1)] = 65532
    expose: list[Annotated[int, Field(ge=1, le=65535)]] = []
    healthcheck: list[str] = []
    healthcheck_interval: str = "30s"
    smoke_args: list[str] = []
    smoke_timeout: Annotated[float, Field(gt=0, le=3600)] = 60.0
    labels: dict[str, str] = {}
    source: str | None = None  # org.opencontainers.image.source; default from the module path
    syntax: str | None = None  # a `# syntax=` line; needs a registry, so off by default
    # Where images build: a BuildKit address, "docker" or a buildx builder's name;
    # default $BUILDKIT_HOST, else the engine's own BuildKit.
    builder: str | None = None
    builder_tls: str | None = None  # a directory with ca.pem, cert.pem, key.pem (mTLS)
    cache: str | None = None  # registry repository[:tag] for BuildKit's cache (mode=max)

    @field_validator("builder")
    @classmethod
    def _builder(cls, value: str | None) -> str | None:
        return None if value is None else check_builder(value)

    @field_validator("builder_tls")
    @classmethod
    def _builder_tls(cls, value: str | None) -> str | None:
        return None if value is None else _line(value, "builder_tls")

    @field_validator("cache")
    @classmethod
    def _cache(cls, value: str | None) -> str | None:
        if value is not None:
            ref, tag = _split_tag(value)
            if not (_REPOSITORY.match(ref) and (not tag or _IMAGE_TAG.match(tag))):
                raise ValueError(
                    f"{value!r} is not a registry repository like registry.example.com/team/cache"
                )
        return value

    @field_validator("name", "go_image", "runtime_image")
    @classmethod
    def _image(cls, value: str | None) -> str | None:
        return None if value is None else check_image(value)

    @field_validator("go_digest", "runtime_digest")
    @classmethod
    def _digest(cls, value: str | None) -> str | None:
        if value is not None and not _DIGEST.match(value):
            raise ValueError(f"{value!r} is not a digest like sha256:<64 hex digits>")
        return value

    @field_validator("runtime_tag")
    @classmethod
    def _tag(cls, value: str | None) -> str | None:
        if value is not None and not _IMAGE_TAG.match(value):
            raise ValueError(f"{value!r} is not an image tag")
        return value

    @field_validator("alpine_version")
    @classmethod
    def _alpine(cls, value: str) -> str:
        if not _ALPINE.match(value):
            raise ValueError(f"{value!r} is not an Alpine version like 3.20")
        return value

    @field_validator("healthcheck_interval")
    @classmethod
    def _duration(cls, value: str) -> str:
        if not _DURATION.match(value):
            raise ValueError(f"{value!r} is not a duration like 30s, 500ms, 5m")
        return value

    @field_validator("healthcheck", "smoke_args")
    @classmethod
    def _args(cls, value: list[str]) -> list[str]:
        return [_line(v, "an argument") for v in value]

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: dict[str, str]) -> dict[str, str]:
        for key, text in value.items():
            if key in _OWN_LABELS:
                raise ValueError(f"label {key!r} is set by gobuild (docker.source sets the source)")
            if not _LABEL_KEY.match(key):
                raise ValueError(f"label {key!r}: keys are lowercase letters, digits, '.' and '-'")
            _line(text, f"label {key}")
        return value

    @field_validator("source")
    @classmethod
    def _source(cls, value: str | None) -> str | None:
        return None if value is None else _line(value, "source")

    @field_validator("syntax")
    @classmethod
    def _syntax(cls, value: str | None) -> str | None:
        if value is not None:
            ref, _, digest = value.partition("@")
            image, tag = _split_tag(ref)
            if not (
                _IMAGE.match(image)
                and (not tag or _IMAGE_TAG.match(tag))
                and (not digest or _DIGEST.match(digest))
            ):
                raise ValueError(f"{value!r} is not an image reference like docker/dockerfile:1")
        return value


class CapsSection(Section):
    """Per-task caps in ``[checks.test]``, ``[checks.lint]``, ``[checks.bench]``."""

    cpus: Annotated[float, Field(gt=0, le=MAX_CPUS)] | None = None
    memory: str | None = None
    timeout: str | None = None

    @field_validator("memory")
    @classmethod
    def _memory(cls, value: str | None) -> str | None:
        if value is not None:
            parse_size(value)
        return value

    @field_validator("timeout")
    @classmethod
    def _timeout(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value


class TestCaps(CapsSection):
    """``[checks.test]``: caps, plus how packages are split into units."""

    split: Annotated[int, Field(ge=1, le=256)] | Literal["package"] = 1
    coverage: bool = False
    race: bool = False
    # JUnit XML (reports' junit.xml), written by the pinned gotestsum.
    junit: bool = False
    # Failed tests are run again, up to this many times, by the pinned gotestsum
    # (--rerun-fails); one that then passes is reported flaky. 0: no reruns.
    rerun_fails: Annotated[int, Field(ge=0, le=10)] = 0
    # How many machines the generated CI workflows split the tests across
    # (`gobuild check test --shard K/N`).
    shards: Annotated[int, Field(ge=1, le=64)] = 1

    @property
    def gotestsum(self) -> bool:
        """Whether the test checks need the pinned gotestsum (JUnit, or reruns)."""
        return self.junit or self.rerun_fails > 0

    @model_validator(mode="after")
    def _rerun_keeps_coverage(self) -> TestCaps:
        if self.rerun_fails and self.coverage:
            # gotestsum reruns with the same flags: the profile would be the rerun's.
            raise ValueError(
                "rerun_fails with coverage: a rerun would overwrite the coverage profile "
                "with the rerun's own; set one of them"
            )
        return self


class BenchCaps(CapsSection):
    """``[checks.bench]``: caps, plus the benchmark run's shape."""

    count: Annotated[int, Field(ge=1, le=100)] = 5
    bench: str = "."
    benchtime: str | None = None

    @field_validator("bench", "benchtime")
    @classmethod
    def _single(cls, value: str | None) -> str | None:
        return None if value is None else _line(value, "the value")


class ChecksSection(Section):
    """``[checks]``: the budget test/lint/bench share and how caps are enforced."""

    cpus: Annotated[float, Field(gt=0, le=MAX_CPUS)] | None = None  # default: the host's
    memory: str | None = None  # default: ~75% of the host's
    enforcement: Enforcement = "auto"
    # Units may hold caps adding up to this many times the budget's CPUs, so a lint
    # unit runs while a test unit compiles or waits; the kernel still holds the run's
    # total to the budget (only where a cgroup can hold it: elsewhere units queue).
    overcommit: Annotated[float, Field(ge=1, le=4)] = 1.5
    linters: list[Linter] = ["vet", "gofmt"]
    # govulncheck's vulnerability database: a URL, or a directory in its OSV layout (a
    # path relative to gobuild.toml, or file://), for a mirror or an offline copy.
    vulndb: str = "https://vuln.go.dev"
    grace: Annotated[float, Field(ge=0, le=600)] = 5.0  # between SIGTERM and SIGKILL
    test: TestCaps = TestCaps()
    lint: CapsSection = CapsSection()
    bench: BenchCaps = BenchCaps()

    @field_validator("linters")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("each linter may appear once")
        return value

    @field_validator("vulndb")
    @classmethod
    def _vulndb(cls, value: str) -> str:
        return _line(value, "vulndb")

    @field_validator("memory")
    @classmethod
    def _memory(cls, value: str | None) -> str | None:
        if value is not None:
            Memory.parse(value)
        return value


class CacheSection(Section):
    """``[cache]``: a Go build cache shared between machines, through GOCACHEPROG."""

    remote: str | None = None  # s3://bucket/prefix
    endpoint: str | None = None  # an S3-compatible store's URL; default AWS S3
    region: str = "us-east-1"
    path_style: bool | None = None  # bucket in the path; default: when endpoint is set

    @field_validator("remote")
    @classmethod
    def _remote(cls, value: str | None) -> str | None:
        if value is not None:
            parse_remote(value)
        return value

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        return None if value is None else check_endpoint(value)

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        return check_region(value)


class GenerateSection(Section):
    """``[generate]``: where ``gobuild generate`` writes its files, relative to go.mod's
    directory; names that leave a project's own Dockerfile and Makefile alone."""

    dockerfile: str = DOCKERFILE_NAME
    # Default: .dockerignore beside a Dockerfile named Dockerfile at the root; else
    # BuildKit's Dockerfile-specific ignore file, <dockerfile>.dockerignore.
    dockerignore: str | None = None
    # CI workflows running the checks (tests as [checks.test] shards jobs, then one
    # merge), written with the other files: "github" (Actions), "gitlab" (GitLab CI).
    ci: list[Literal["github", "gitlab"]] = []
    github_workflow: str = GITHUB_WORKFLOW_NAME
    gitlab_ci: str = GITLAB_CI_NAME
    # What the workflows' jobs `pip install` (default: this gobuild's version, gobuild==X.Y.Z)
    ci_install: str | None = None
    makefile: str = MAKEFILE_NAME
    # The Dockerfile of the released binaries; default: <dockerfile>.release
    release_dockerfile: str | None = None

    @field_validator(
        "dockerfile",
        "dockerignore",
        "makefile",
        "release_dockerfile",
        "github_workflow",
        "gitlab_ci",
    )
    @classmethod
    def _relative_file(cls, value: str | None) -> str | None:
        if value is None:
            return value
        parts = value.split("/")
        if value.startswith("/") or ".." in parts or "" in parts or "." in parts:
            raise ValueError(f"{value!r} must be a relative file path inside the module")
        # It lands in shell recipes (make -f, docker build -f) and .dockerignore patterns.
        if not _OUT_DIR.match(value):
            raise ValueError(
                f"{value!r}: only letters, digits, '.', '_', '+', '-', '/' (no leading '-')"
            )
        if parts[0] in (".git", STATE_DIR_NAME, "vendor"):
            raise ValueError(f"{value!r} would write into {parts[0]}/")
        return value

    @field_validator("ci_install")
    @classmethod
    def _ci_install(cls, value: str | None) -> str | None:
        return None if value is None else _line(value, "ci_install")

    @model_validator(mode="after")
    def _distinct(self) -> GenerateSection:
        paths = list(self.paths().values())
        if dup := sorted({p for p in paths if paths.count(p) > 1}):
            raise ValueError(f"two generated files would be written to {', '.join(dup)}")
        return self

    def paths(self) -> dict[str, str]:
        """Each generated file's role (its default name) → where it is written."""
        ignore = self.dockerignore
        if ignore is None:
            ignore = (
                DOCKERIGNORE_NAME
                if self.dockerfile == DOCKERFILE_NAME
                else f"{self.dockerfile}.dockerignore"
            )
        return {
            DOCKERFILE_NAME: self.dockerfile,
            DOCKERIGNORE_NAME: ignore,
            MAKEFILE_NAME: self.makefile,
            RELEASE_DOCKERFILE_NAME: self.release_dockerfile or f"{self.dockerfile}.release",
            **({GITHUB_WORKFLOW_NAME: self.github_workflow} if "github" in self.ci else {}),
            **({GITLAB_CI_NAME: self.gitlab_ci} if "gitlab" in self.ci else {}),
        }


class Settings(Section):
    """The whole of gobuild.toml."""

    go: GoSection = GoSection()
    toolchain: ToolchainSection = ToolchainSection()
    build: BuildSection = BuildSection()
    binaries: list[BinarySection] = []
    dist: DistSection = DistSection()
    release: ReleaseSection = ReleaseSection()
    profiles: dict[str, ProfileSection] = {}
    docker: DockerSection = DockerSection()
    checks: ChecksSection = ChecksSection()
    generate: GenerateSection = GenerateSection()
    cache: CacheSection = CacheSection()
    # tool name -> "package@version" (gobuild's default pins otherwise), and `go`
    tools: dict[str, str] = {}

    @field_validator("tools")
    @classmethod
    def _tools(cls, value: dict[str, str]) -> dict[str, str]:
        return check_tools(value)

    @field_validator("binaries")
    @classmethod
    def _unique_names(cls, value: list[BinarySection]) -> list[BinarySection]:
        names = [b.name for b in value]
        if dup := sorted({n for n in names if names.count(n) > 1}):
            raise ValueError(f"binary names must be unique: {', '.join(dup)}")
        return value

    @field_validator("profiles")
    @classmethod
    def _profile_names(cls, value: dict[str, ProfileSection]) -> dict[str, ProfileSection]:
        for name in value:
            if not _PROFILE.match(name):
                raise ValueError(f"profile name {name!r}: lowercase letters, digits, '-', '_'")
        return value

    @model_validator(mode="after")
    def _default_profile_exists(self) -> Settings:
        if self.build.default_profile not in self.profile_names():
            raise ValueError(
                f"build.default_profile {self.build.default_profile!r} is not a profile "
                f"(known: {', '.join(self.profile_names())})"
            )
        return self

    @model_validator(mode="after")
    def _docker_refs(self) -> Settings:
        docker = self.docker
        if docker.profile is not None and docker.profile not in self.profile_names():
            raise ValueError(f"docker.profile {docker.profile!r} is not a profile")
        names = [b.name for b in self.binaries]
        if docker.binary is not None and self.binaries and docker.binary not in names:
            raise ValueError(
                f"docker.binary {docker.binary!r} is not a [[binaries]] name "
                f"(known: {', '.join(names)})"
            )
        return self

    def profile_names(self) -> list[str]:
        """Configured profiles plus the defaults dev, test and prod."""
        return sorted(set(DEFAULT_PROFILES) | set(self.profiles))

    def profile(self, name: str) -> ProfileSection:
        """The named profile (the defaults are empty unless configured)."""
        return self.profiles.get(name, ProfileSection())
