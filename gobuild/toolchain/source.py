"""What a toolchain source is: where Go distributions come from.

A source answers two questions: which versions exist for a platform, and how
to fetch one verified archive of a version into a directory. It knows nothing
of the cache layout or gobuild.lock beyond the artifact the lock expects.
Sources: :mod:`.goproxy` (the Go module proxy), :mod:`.official` (go.dev or a
mirror of its layout) and :mod:`.pypi`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from gobuild.digest import Artifact
from gobuild.progress import Reporter
from gobuild.project.names import SourceName
from gobuild.project.platforms import Platform
from gobuild.project.versions import GoVersion

if TYPE_CHECKING:
    from gobuild.toolchain.archive.tarscan import ScannedTar


@dataclass(frozen=True)
class Fetched:
    """An archive on disk whose sha256 was verified, and where it came from.

    ``path`` is a wheel to extract, the ``.tar`` inflated from the
    ``.tar.gz`` ``filename`` (which the digest is of) while it downloaded,
    with its headers already checked in ``scanned``, or a ``golang.org/toolchain``
    module zip whose files sit under ``module_prefix`` and whose contents must
    hash to ``h1`` (checked as it is extracted, before anything is installed).
    """

    path: Path
    filename: str
    sha256: str
    source: str
    url: str
    scanned: ScannedTar | None = None
    skip: Callable[[str], bool] | None = None  # members that are not part of the Go tree
    h1: str = ""
    module_prefix: str | None = None

    @property
    def artifact(self) -> Artifact:
        """What gobuild.lock records: a module zip by its h1 (another proxy may zip the
        same files into other bytes), an archive by its sha256."""
        if self.h1:
            return Artifact(self.filename, h1=self.h1)
        return Artifact(self.filename, self.sha256)


class Source(Protocol):
    """A place to get Go distributions from."""

    name: str  # for messages
    kind: SourceName  # the key gobuild.lock records hashes under

    def versions(self, platform: Platform, reporter: Reporter) -> list[GoVersion]:
        """Every version this source offers for ``platform`` (notices go to ``reporter``)."""

    def locked(self, version: GoVersion, platform: Platform, reporter: Reporter) -> Artifact | None:
        """What gobuild.lock should record for ``version`` on ``platform``, without
        downloading it; None when only a download could tell. Raises
        :class:`~gobuild.errors.NotFound` when the source has no such build."""

    def fetch(
        self,
        version: GoVersion,
        platform: Platform,
        into: Path,
        expected: Artifact | None,
        reporter: Reporter,
    ) -> Fetched:
        """Download ``version`` into directory ``into`` and verify it."""
