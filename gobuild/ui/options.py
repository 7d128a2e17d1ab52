"""Options both front ends take, declared once: name, help, and the one parser that
validates them.

The command line adds them to argparse as plain text and the doit tasks declare them
as task parameters; both hand the text to :meth:`Option.value`, so ``--cpus nan`` gets
the same one-line error (exit 1) from ``gobuild check`` and from ``doit check``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from gobuild.errors import GobuildError
from gobuild.project.names import ENFORCEMENTS, Enforcement

if TYPE_CHECKING:
    import argparse

    from gobuild.project.quantities import Memory

T = TypeVar("T")


@dataclass(frozen=True)
class Option(Generic[T]):
    """One ``--NAME VALUE`` option: its help, and the parser of its value."""

    name: str
    help: str
    parse: Callable[[str], T]
    metavar: str | None = None

    @property
    def flag(self) -> str:
        """``--NAME``."""
        return f"--{self.name}"

    def value(self, text: str | None) -> T | None:
        """The value of ``text`` (None when the option was not given), or a
        :class:`GobuildError` naming the option."""
        if text is None or text == "":
            return None
        try:
            return self.parse(text)
        except ValueError as exc:
            raise GobuildError(f"{self.flag}: {exc}") from None

    @property
    def _help(self) -> str:
        # argparse and doit both %-format help text: a literal % is doubled.
        return self.help.replace("%", "%%")

    def add_to(self, parser: argparse.ArgumentParser) -> None:
        """Declare the option on an argparse parser (as text: :meth:`value` parses it)."""
        parser.add_argument(self.flag, help=self._help, metavar=self.metavar)

    def doit_param(self) -> dict[str, Any]:
        """Declare the option as a doit task parameter (text, empty when not given)."""
        return {"name": self.name, "long": self.name, "default": "", "help": self._help}


# The parsers load on first use: doit declares these options on every run, even a no-op
# build, where no value is ever given.


def _cpus(text: str) -> float:
    from gobuild.project.quantities import parse_cpus  # noqa: PLC0415

    return parse_cpus(text)


def _memory(text: str) -> Memory:
    from gobuild.project.quantities import Memory  # noqa: PLC0415

    return Memory.parse(text)


def _enforcement(text: str) -> Enforcement:
    for known in ENFORCEMENTS:
        if text == known:
            return known
    raise ValueError(f"{text!r} is not one of {', '.join(ENFORCEMENTS)}")


PROFILE: Option[str] = Option(
    "profile", "the gobuild profile (dev, test, prod or one gobuild.toml defines)", str
)
CPUS: Option[float] = Option(
    "cpus", "CPU budget, e.g. 2 or 0.5 (default: [checks] cpus, else the host's)", _cpus
)
MEMORY: Option[Memory] = Option(
    "memory",
    "memory budget, e.g. 8GiB or 50% (default: [checks] memory, else ~75% of RAM)",
    _memory,
)
ENFORCEMENT: Option[Enforcement] = Option(
    "enforcement",
    "how caps are enforced: auto (the best mechanism here, else none), a mechanism, or "
    "none (GOMAXPROCS, GOMEMLIMIT, -p and timeouts only) (default: [checks] enforcement)",
    _enforcement,
    metavar="{" + ",".join(ENFORCEMENTS) + "}",
)
