"""Reading govulncheck's text output into findings."""

from __future__ import annotations

from pathlib import Path

from gobuild.checks import vulns
from gobuild.checks.failures import Places, read_vulns

OUTPUT = """=== Symbol Results ===

Vulnerability #1: GO-2099-0001
    greet.Word says hello to attackers
  More info: https://pkg.go.dev/vuln/GO-2099-0001
  Module: example.com/greet
    Found in: example.com/greet@v1.0.0
    Fixed in: example.com/greet@v1.0.1
    Example traces found:
      #1: main.go:9:37: app.main calls greet.Word
      #2: cmd/x/x.go:4:2: x.run calls greet.Word

Vulnerability #2: GO-2099-0002
    Everything is broken
  More info: https://pkg.go.dev/vuln/GO-2099-0002
  Module: example.com/other
    Found in: example.com/other@v0.1.0
    Fixed in: N/A

Your code is affected by 2 vulnerabilities from 2 modules.
"""


def test_each_trace_is_a_finding_and_a_vulnerability_without_one_is_too() -> None:
    found = vulns.parse(OUTPUT)
    assert [(v.id, v.file, v.line, v.column) for v in found] == [
        ("GO-2099-0001", "main.go", 9, 37),
        ("GO-2099-0001", "cmd/x/x.go", 4, 2),
        ("GO-2099-0002", "", None, None),
    ]
    assert found[0].message == (
        "GO-2099-0001: greet.Word says hello to attackers (example.com/greet@v1.0.0; "
        "fixed in example.com/greet@v1.0.1): app.main calls greet.Word"
    )
    assert found[2].message.endswith("(example.com/other@v0.1.0; no fixed version)")


def test_a_clean_run_has_no_findings_and_reads_as_understood(tmp_path: Path) -> None:
    clean = "=== Symbol Results ===\n\nNo vulnerabilities found.\n"
    reading = read_vulns("lint:govulncheck", clean, Places(tmp_path))
    assert reading.failures == () and reading.understood is True
    reading = read_vulns("lint:govulncheck", OUTPUT, Places(tmp_path))
    assert reading.findings[0].startswith("main.go:9:37: GO-2099-0001: ")
