"""How long-running library work reports progress without printing.

The library calls a :class:`Reporter`; the CLI supplies one that draws rich
progress bars on a terminal, and :class:`Silent` is the default everywhere else.
"""

from __future__ import annotations

from typing import Protocol


class Reporter(Protocol):
    """Receives stage starts, byte/entry progress and one-line notices."""

    def stage(self, name: str, total: int | None = None) -> None:
        """A new stage (``download``, ``extract``…) begins; ``total`` units if known."""

    def advance(self, amount: int) -> None:
        """``amount`` more units of the current stage are done."""

    def notice(self, message: str) -> None:
        """A one-line message the user should see (e.g. a source fallback)."""


class Silent:
    """A reporter that ignores everything, collecting notices for callers that want them."""

    def __init__(self) -> None:
        self.notices: list[str] = []

    def stage(self, name: str, total: int | None = None) -> None:
        """Ignore the stage."""

    def advance(self, amount: int) -> None:
        """Ignore progress."""

    def notice(self, message: str) -> None:
        """Keep the notice."""
        self.notices.append(message)
