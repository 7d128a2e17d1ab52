"""`gobuild env --profile`: a plan's environment as the command shows it.

The command installs the pin first (a fake release from a loopback mirror); build plans
as data are tests/unit/test_plan.py.
"""

from __future__ import annotations

import io
import json

from gobuild.cli import main as cli
from tests import godist
from tests.conftest import MakeProject
from tests.mirror import Mirror


def test_env_command_shows_profile(make_project: MakeProject, mirror: Mirror) -> None:
    mirror.add("1.22.10", godist.fake_archive("1.22.10"))
    root = make_project(
        "1.22.10",
        mirror=mirror,
        extra='[profiles.prod]\ngoprivate = "corp.example/*"\ngosumdb = "off"\n',
    )
    out = io.StringIO()
    assert cli.main(["-C", str(root), "env", "--profile", "prod", "--json"], stdout=out) == 0
    data = json.loads(out.getvalue())
    assert data["PROFILE"] == "prod" and data["GOPRIVATE"] == "corp.example/*"
    assert data["GOSUMDB"] == "off" and data["GOTOOLCHAIN"] == "local"
    out = io.StringIO()
    assert cli.main(["-C", str(root), "env"], stdout=out) == 0
    assert "GOPRIVATE" not in out.getvalue() and "# gobuild profile dev" in out.getvalue()
    err = io.StringIO()
    assert cli.main(["-C", str(root), "env", "--profile", "nope"], stderr=err) == 1
    assert "unknown profile 'nope'" in err.getvalue()
