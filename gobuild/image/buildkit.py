"""Building on a BuildKit daemon with the pinned buildctl, and loading the result into
the Docker engine the checks run on.

``buildctl build`` runs the Dockerfile frontend built into buildkitd (no ``# syntax=``
image is pulled) with the same inputs an engine build gets (build args, platform, the
netrc secret: :func:`gobuild.image.build.inputs`); the image comes back as a
``docker load`` archive (``--output type=docker``) and goes into the engine, since the
checks smoke-run it there. With ``[docker] cache`` the build imports and exports
BuildKit's cache from and to that registry repository (``type=registry``,
``mode=max``: the build stage's layers too), so a daemon with an empty state, on
another machine, reuses what any other built. Registry credentials stay in the Docker
config (DOCKER_CONFIG): buildctl reads them there and lends them to the daemon for the
push and pull; they are never an argument, a build arg or part of a layer.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gobuild import proc
from gobuild.errors import BuilderError, DockerError
from gobuild.image.build import Inputs
from gobuild.image.builder import Remote

if TYPE_CHECKING:
    import docker

# How long buildctl waits for the connection (its --timeout) before a build or a probe.
CONNECT_SECONDS = 10
# A whole build: BuildKit has its own step timeouts; this is the last resort.
BUILD_SECONDS = 3600
# A Dockerfile step in plain progress output: "[build 3/7] RUN ..." (not "[internal]").
_DOCKERFILE_STEP = re.compile(r"^\[[^\]]*\d+/\d+\] ")
_VERTEX = re.compile(r"^#(\d+) (.*)$")
# A blob download in a step's progress: "sha256:<hex> 1.20MB / 1.20MB 0.0s done".
_PULLED = re.compile(r"^sha256:[0-9a-f]{64} [0-9.]+\w*B / [0-9.]+\w*B( [0-9.]+s)?( done)?$")
IMPORTING = "importing cache manifest from "
EXPORTING = "exporting cache to registry"
# How an import says the cache is not there yet (a registry's 404, BuildKit's wording).
_ABSENT = re.compile(r"not found|404|manifest unknown|name unknown", re.IGNORECASE)


@dataclass(frozen=True)
class CacheUse:
    """What a build did with the registry cache ``ref``."""

    ref: str
    imported: bool  # the cache manifest was there and read
    exported: bool
    cached: int  # Dockerfile steps the build did not run
    steps: int  # Dockerfile steps in all
    import_error: str = ""  # why the import failed, unless the cache was not there yet
    export_error: str = ""  # why the export failed

    def text(self) -> str:
        """One line for the report."""
        if self.imported:
            got = f"imported ({self.cached} of {self.steps} steps cached)"
        elif self.import_error:
            got = f"not imported ({self.import_error})"
        else:
            got = "nothing to import yet"
        if self.exported:
            put = "exported (mode=max)"
        else:
            put = f"not exported ({self.export_error or 'no export step'})"
        return f"registry {self.ref}: {got}, {put}"


@dataclass(frozen=True)
class Built:
    """An image built on a BuildKit daemon and loaded into the engine."""

    image_id: str
    cache: CacheUse | None
    progress: str  # buildctl's plain progress output


def csv_field(value: str) -> str:
    """``value`` as one field of buildctl's comma-separated options (``--output``,
    ``--secret``): quoted when it holds a comma or a quote, as encoding/csv reads it."""
    if "," in value or '"' in value:
        return '"' + value.replace('"', '""') + '"'
    return value


def build_argv(
    buildctl: Path,
    remote: Remote,
    *,
    context: Path,
    dockerfile: Path,
    tag: str,
    inputs: Inputs,
    dest: Path,
    metadata: Path,
    cache: str | None,
) -> list[str]:
    """``buildctl ... build`` of ``dockerfile`` over ``context`` into a ``docker load``
    archive ``dest`` tagged ``tag``, the build's record in ``metadata``; with ``cache``,
    the registry cache imported and exported (mode=max)."""
    argv = [
        str(buildctl),
        *remote.flags(),
        "--timeout",
        str(CONNECT_SECONDS),
        "build",
        "--progress=plain",
        "--frontend=dockerfile.v0",
        "--local",
        f"context={context}",
        "--local",
        f"dockerfile={dockerfile.parent}",
        "--opt",
        f"filename={dockerfile.name}",
    ]
    if inputs.platform is not None:
        argv += ["--opt", f"platform={inputs.platform}"]
    for arg, value in inputs.args.items():
        argv += ["--opt", f"build-arg:{arg}={value}"]
    for ident, path in inputs.secrets.items():
        # Private modules: credentials reach only the secret mount, never an ARG or layer.
        argv += ["--secret", f"id={ident},{csv_field(f'src={path}')}"]
    argv += [
        "--output",
        f"type=docker,name={csv_field(tag)},{csv_field(f'dest={dest}')}",
        "--metadata-file",
        str(metadata),
    ]
    if cache is not None:
        # ignore-error: a cache registry that is down or refuses the push costs the
        # next build its head start, not this build; the report says so.
        argv += [
            "--export-cache",
            f"type=registry,ref={cache},mode=max,ignore-error=true",
            "--import-cache",
            f"type=registry,ref={cache}",
        ]
    return argv


def steps(progress: str) -> list[tuple[str, str]]:
    """Each vertex of ``--progress=plain`` output, in order, as (name, how it ended:
    ``DONE``, ``CACHED``, ``ERROR`` or ''). A step counts as ``CACHED`` once reported
    so, and also when it ends DONE having only downloaded layers: BuildKit pulls a
    cache hit's layers from the registry cache when the exporter needs them, reporting
    that step again, or for the first time, with the blobs it fetched."""
    names: dict[str, str] = {}
    states: dict[str, str] = {}
    pulled: set[str] = set()
    ran: set[str] = set()
    for line in progress.splitlines():
        match = _VERTEX.match(line)
        if not match:
            continue
        number, rest = match.groups()
        if number not in names:
            names[number], states[number] = rest, ""
        elif rest == names[number]:
            continue  # the step named again, as its progress resumes
        elif rest == "CACHED" or rest.startswith(("DONE", "ERROR")):
            if states[number] != "CACHED":
                states[number] = rest.split(" ")[0].rstrip(":")
        elif _PULLED.match(rest):
            pulled.add(number)
        else:
            ran.add(number)  # a command's output, or anything but a blob download
    for number in pulled - ran:
        if states[number] == "DONE":
            states[number] = "CACHED"
    return [(names[n], states[n]) for n in names]


def cache_use(ref: str, progress: str) -> CacheUse:
    """What the build whose output is ``progress`` did with the cache ``ref``."""
    found = steps(progress)
    # FROM lines name base images: resolved, never built, so neither cached nor not.
    dockerfile = [
        state
        for name, state in found
        if _DOCKERFILE_STEP.match(name) and not _DOCKERFILE_STEP.sub("", name).startswith("FROM ")
    ]
    imported = any(n.startswith(IMPORTING) and s == "DONE" for n, s in found)
    exported = any(n == EXPORTING and s == "DONE" for n, s in found)
    import_error = _error_of(progress, IMPORTING)
    if _ABSENT.search(import_error):
        import_error = ""  # the first build: there is nothing to import yet
    return CacheUse(
        ref,
        imported,
        exported,
        dockerfile.count("CACHED"),
        len(dockerfile),
        import_error=import_error,
        export_error=_error_of(progress, EXPORTING),
    )


def _error_of(progress: str, prefix: str) -> str:
    """The ERROR line of the vertex whose name starts with ``prefix``, or ''."""
    numbers = set()
    for line in progress.splitlines():
        match = _VERTEX.match(line)
        if not match:
            continue
        number, rest = match.groups()
        if rest.startswith(prefix):
            numbers.add(number)
        elif number in numbers and rest.startswith("ERROR: "):
            return rest.removeprefix("ERROR: ")[:300]
    return ""


def why_unreachable(remote: Remote, stderr: str) -> str:
    """One line saying why buildctl got nowhere with ``remote``, from its stderr."""
    text = stderr.strip()
    last = text.splitlines()[-1] if text else "no output"
    lower = text.lower()
    if "connection refused" in lower:
        reason = "nothing listens there (connection refused)"
    elif "no such host" in lower:
        reason = "no such host"
    elif "certificate signed by unknown authority" in lower or "failed to verify" in lower:
        reason = "its certificate is not signed by the CA of the TLS files"
    elif (
        "certificate required" in lower
        or "bad certificate" in lower
        or "unknown certificate authority" in lower
        or "broken pipe" in lower
        or "server preface: eof" in lower
    ):
        # A server demanding a client certificate ends the handshake; what the client
        # sees races between the TLS alert and a broken connection.
        reason = "it refused the TLS handshake (it wants a client certificate its CA signed)"
    elif "deadline exceeded" in lower or "timeout" in lower:
        reason = f"no answer within {CONNECT_SECONDS}s"
    else:
        reason = last.removeprefix("error: ")[:300]
    hint = "" if remote.tls else "; [docker] builder_tls names client TLS files"
    tls_problem = "TLS" in reason or "certificate" in reason
    return f"builder {remote.shown} ({remote.source}) is unreachable: {reason}" + (
        hint if tls_problem else ""
    )


def reach(buildctl: Path, remote: Remote, env: Mapping[str, str]) -> list[str]:
    """The platforms ``remote``'s workers build; BuilderError in one line when it does
    not answer (refused, TLS refused, unknown host), so a build error never hides a
    connection error or the other way round."""
    argv = [
        str(buildctl),
        *remote.flags(),
        "--timeout",
        str(CONNECT_SECONDS),
        "debug",
        "workers",
        "--format",
        "{{json .}}",
    ]
    done = proc.run(argv, check=False, env=env, timeout=CONNECT_SECONDS * 6)
    if done.returncode != 0:
        raise BuilderError(why_unreachable(remote, done.stderr))
    try:
        workers = json.loads(done.stdout or "[]")
    except ValueError:
        workers = []
    platforms: list[str] = []
    for worker in workers if isinstance(workers, list) else []:
        for p in worker.get("platforms") or worker.get("Platforms") or []:
            if isinstance(p, dict):
                platforms.append(f"{p.get('os', '?')}/{p.get('architecture', '?')}")
    return platforms


def build(
    buildctl: Path,
    remote: Remote,
    engine: docker.DockerClient,
    *,
    context: Path,
    dockerfile: Path,
    tag: str,
    inputs: Inputs,
    cache: str | None,
    env: Mapping[str, str],
) -> Built:
    """Build on ``remote`` (see the module), load the image into ``engine`` and return
    its id there; ``env`` is buildctl's (DOCKER_CONFIG for registry logins)."""
    reach(buildctl, remote, env)
    with tempfile.TemporaryDirectory(prefix="gobuild-buildkit-") as tmp:
        dest, metadata = Path(tmp) / "image.tar", Path(tmp) / "metadata.json"
        argv = build_argv(
            buildctl,
            remote,
            context=context,
            dockerfile=dockerfile,
            tag=tag,
            inputs=inputs,
            dest=dest,
            metadata=metadata,
            cache=cache,
        )
        done = proc.run(argv, check=False, env=env, timeout=BUILD_SECONDS, cwd=context)
        if done.returncode != 0:
            raise DockerError(failure(remote, done.stderr))
        config = json.loads(metadata.read_text()).get("containerimage.config.digest", "")
        image_id = _load(engine, dest, tag)
    if config and config != image_id:
        # The engine names an image by its config's digest: another id means another image.
        raise DockerError(f"the engine loaded {image_id[:19]} for {tag}, built {config[:19]}")
    used = cache_use(cache, done.stderr) if cache is not None else None
    return Built(image_id, used, done.stderr)


def failure(remote: Remote, stderr: str) -> str:
    """One line for a failed build: the error line and the step that failed."""
    lines = stderr.strip().splitlines()
    errors = [ln.removeprefix("error: ") for ln in lines if ln.startswith("error: ")]
    # The cache steps' errors are not the build's (a first build has nothing to import).
    failed = [
        name
        for name, state in steps(stderr)
        if state == "ERROR" and not name.startswith((IMPORTING, EXPORTING))
    ]
    detail = errors[-1] if errors else (lines[-1] if lines else "no output")
    where = f" at {failed[0]}" if failed else ""
    tail = " | ".join(lines[-12:])
    return f"build on {remote.shown} failed{where}: {detail[:500]} | {tail[-1500:]}"


def _load(engine: docker.DockerClient, archive: Path, tag: str) -> str:
    import docker  # noqa: PLC0415 - the SDK pulls in requests; only image work needs it

    try:
        with archive.open("rb") as data:
            engine.images.load(data)
        return str(engine.images.get(tag).id)
    except docker.errors.DockerException as exc:
        raise DockerError(f"cannot load the built image {tag} into the engine: {exc}") from None
