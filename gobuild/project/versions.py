"""Go version numbers: parsing, ordering and resolution of requests.

Go's release names are not PEP 440 (``go1.21rc2``, ``go1.20`` without a patch
number, ``go1.21.0`` as the first 1.21 release), so this is a small class of
its own rather than ``packaging.version``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import total_ordering

from gobuild.errors import VersionError

_VERSION = re.compile(
    r"^(?:go)?(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)"
    r"(?:\.(?P<patch>0|[1-9]\d*)|(?P<pre>beta|rc)(?P<pren>[1-9]\d*))?$",
    re.ASCII,
)
# Pre-release kinds sort before the release they precede: beta < rc < final.
_PRE_RANK = {"beta": 0, "rc": 1}


@total_ordering
@dataclass(frozen=True, eq=False)
class GoVersion:
    """One Go release, e.g. ``1.22.10``, ``1.21rc2`` or ``1.20`` (no patch)."""

    major: int
    minor: int
    patch: int | None = None
    pre: str | None = None
    pre_number: int = 0

    @classmethod
    def parse(cls, text: str) -> GoVersion:
        """Parse ``1.22.10``, ``go1.22.10``, ``1.22rc1``; ``1.22`` means the ``go1.22`` release."""
        m = _VERSION.match(text.strip())
        if not m:
            raise VersionError(
                f"invalid Go version {text!r}: expected forms like 1.22.10, go1.22.10 or 1.22rc1"
            )
        return cls(
            major=int(m["major"]),
            minor=int(m["minor"]),
            patch=int(m["patch"]) if m["patch"] is not None else None,
            pre=m["pre"],
            pre_number=int(m["pren"]) if m["pren"] else 0,
        )

    @property
    def stable(self) -> bool:
        """True for final releases, false for betas and release candidates."""
        return self.pre is None

    @property
    def series(self) -> tuple[int, int]:
        """The (major, minor) language version this release belongs to."""
        return (self.major, self.minor)

    @property
    def tag(self) -> str:
        """The name Go itself uses: ``go1.22.10``."""
        return f"go{self}"

    def _key(self) -> tuple[int, int, int, int, int]:
        rank = _PRE_RANK[self.pre] if self.pre else 9
        return (self.major, self.minor, rank, self.patch or 0, self.pre_number)

    def __str__(self) -> str:
        base = f"{self.major}.{self.minor}"
        if self.pre:
            return f"{base}{self.pre}{self.pre_number}"
        return base if self.patch is None else f"{base}.{self.patch}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GoVersion) and self._key() == other._key()

    def __lt__(self, other: GoVersion) -> bool:
        return self._key() < other._key()

    def __hash__(self) -> int:
        return hash(self._key())


@dataclass(frozen=True)
class VersionRequest:
    """What a user or go.mod asked for: an exact release, or a minor series."""

    text: str
    exact: GoVersion | None = None
    series: tuple[int, int] | None = None

    @classmethod
    def parse(cls, text: str) -> VersionRequest:
        """``1.22`` (or ``go1.22``) asks for a series; anything more specific is exact."""
        version = GoVersion.parse(text)
        if version.patch is None and version.pre is None:
            return cls(text=text, series=version.series)
        return cls(text=text, exact=version)

    def matches(self, version: GoVersion) -> bool:
        """Whether ``version`` satisfies this request."""
        if self.exact is not None:
            return version == self.exact
        return version.series == self.series

    def __str__(self) -> str:
        return str(self.exact) if self.exact else "{}.{}".format(*self.series or (0, 0))


def resolve(request: VersionRequest, available: Iterable[GoVersion], where: str) -> GoVersion:
    """Pick the release ``request`` means among ``available``.

    An exact request must be listed; a series resolves to its newest *stable*
    release (as actions/setup-go does). ``where`` names the source in errors.
    """
    versions = sorted(set(available))
    if request.exact is not None:
        for v in versions:
            if v == request.exact:
                return v  # the listed name: go1.20 when 1.20.0 was asked for
        raise VersionError(f"Go {request.exact} is not available from {where}")
    candidates = [v for v in versions if request.matches(v) and v.stable]
    if not candidates:
        raise VersionError(f"no stable Go {request} release is available from {where}")
    return candidates[-1]
