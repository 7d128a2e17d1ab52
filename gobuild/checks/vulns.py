"""govulncheck's text output, read: each vulnerability the code reaches, and where.

govulncheck prints a block per vulnerability (``Vulnerability #1: GO-2024-0001``, its
summary, the module found and the version that fixes it, then example traces
``#1: main.go:9:37: app.main calls greet.Word``). Each trace becomes one finding at its
file:line; a vulnerability without traces (found in a required module, not reached by
a call) is one finding without a place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_HEADING = re.compile(r"^Vulnerability #\d+: (?P<id>\S+)\s*$")
_FOUND = re.compile(r"^Found in: (?P<v>\S+)\s*$")
_FIXED = re.compile(r"^Fixed in: (?P<v>.+?)\s*$")
_TRACE = re.compile(
    r"^#\d+: (?P<file>[^\s:][^:]*\.go):(?P<line>\d+)(?::(?P<col>\d+))?: (?P<what>.+?)\s*$"
)


@dataclass(frozen=True)
class Vuln:
    """One reached vulnerability, at one trace's place (or none)."""

    id: str
    summary: str
    found: str
    fixed: str
    file: str = ""
    line: int | None = None
    column: int | None = None
    trace: str = ""

    @property
    def message(self) -> str:
        """One line: the ID, what it is, where it is fixed, and the call that reaches it."""
        fixed = f"fixed in {self.fixed}" if self.fixed else "no fixed version"
        text = f"{self.id}: {self.summary} ({self.found}; {fixed})"
        return f"{text}: {self.trace}" if self.trace else text


def parse(output: str) -> list[Vuln]:
    """Every vulnerability block of ``output``, one entry per trace."""
    found: list[Vuln] = []
    block: dict[str, str] | None = None
    traces: list[Vuln] = []

    def close() -> None:
        if block is not None:
            base = Vuln(block["id"], block.get("summary", ""), block.get("found", ""),
                        block.get("fixed", ""))  # fmt: skip
            found.extend(traces or [base])

    for raw in output.splitlines():
        text = raw.strip()
        if m := _HEADING.match(text):
            close()
            block, traces = {"id": m["id"]}, []
        elif block is None or not text:
            continue
        elif "summary" not in block and not text.startswith(("More info", "Module:")):
            block["summary"] = text
        elif m := _FOUND.match(text):
            block["found"] = m["v"]
        elif m := _FIXED.match(text):
            block["fixed"] = m["v"].removeprefix("N/A").strip()
        elif m := _TRACE.match(text):
            col = m["col"]
            traces.append(
                Vuln(block["id"], block.get("summary", ""), block.get("found", ""),
                     block.get("fixed", ""), m["file"], int(m["line"]),
                     int(col) if col else None, m["what"])
            )  # fmt: skip
        elif text.startswith(("Your code", "This scan", "Use '-show", "===")):
            close()
            block, traces = None, []
    close()
    return found
