"""A vulnerability database in the layout govulncheck reads (vuln.go.dev's v1 schema).

``index/db.json``, ``index/modules.json`` and ``index/vulns.json``, and one OSV entry
per ID under ``ID/``: enough for ``govulncheck -db file:///DIR`` to flag a module
version (and, with symbols, the calls that reach it).
"""

from __future__ import annotations

import json
from pathlib import Path

MODIFIED = "2024-01-01T00:00:00Z"


def write_db(root: Path, vuln_id: str, module: str, fixed: str, symbols: dict[str, list[str]],
             summary: str) -> None:  # fmt: skip
    """One entry: ``module`` below ``fixed`` (no v), reached through ``symbols`` by package."""
    (root / "index").mkdir(parents=True, exist_ok=True)
    (root / "ID").mkdir(exist_ok=True)
    (root / "index" / "db.json").write_text(json.dumps({"modified": MODIFIED}))
    (root / "index" / "modules.json").write_text(json.dumps(
        [{"path": module, "vulns": [{"id": vuln_id, "modified": MODIFIED, "fixed": fixed}]}]
    ))  # fmt: skip
    (root / "index" / "vulns.json").write_text(
        json.dumps([{"id": vuln_id, "modified": MODIFIED, "aliases": []}])
    )
    entry = {
        "schema_version": "1.3.1", "id": vuln_id, "modified": MODIFIED, "published": MODIFIED,
        "summary": summary, "details": summary,
        "affected": [{
            "package": {"name": module, "ecosystem": "Go"},
            "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": fixed}]}],
            "ecosystem_specific": {
                "imports": [{"path": p, "symbols": s} for p, s in symbols.items()]
            },
        }],
        "database_specific": {"url": f"https://pkg.go.dev/vuln/{vuln_id}"},
    }  # fmt: skip
    (root / "ID" / f"{vuln_id}.json").write_text(json.dumps(entry))
