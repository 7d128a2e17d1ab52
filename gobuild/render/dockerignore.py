"""The generated .dockerignore: which parts of the module never go into a build context.

Version control, gobuild's state and output, editors' files, local secrets, the
generated files themselves, and tests and test data unless a ``//go:embed`` names
them (go build never reads them; leaving them out keeps a test-only change from
invalidating the image's source layer).
"""

from __future__ import annotations

from gobuild.builds import inputs
from gobuild.project.config import Project
from gobuild.project.layout import STATE_DIR_NAME

_SECRETS = ("**/.env", "**/.env.*", "**/.netrc", "**/*.pem", "**/*.key")
_IDE = ("**/.idea", "**/.vscode", "**/.vs", "**/*.swp", "**/*~", "**/.DS_Store")


def ignore_groups(project: Project) -> list[tuple[str, list[str]]]:
    """The generated .dockerignore rules, grouped under a comment each."""
    out_dir = project.settings.build.out_dir.strip("/")
    groups: list[tuple[str, list[str]]] = [
        ("version control", [".git", "**/.gitignore", "**/.gitattributes"]),
        ("gobuild state and build output", [STATE_DIR_NAME, out_dir]),
        ("editors and IDEs", list(_IDE)),
        ("local secrets: never in an image layer", list(_SECRETS)),
        (
            "generated files the build does not read",
            list(project.settings.generate.paths().values()),
        ),
    ]
    if _tests_unused(project):
        # go build never reads tests or testdata; leaving them out keeps a test-only
        # change from invalidating the image's source layer.
        groups.append(("tests (no //go:embed names them)", ["**/*_test.go", "**/testdata"]))
    if project.vendored:
        groups.append(("vendored modules' test data", ["vendor/**/testdata"]))
    return groups


def _tests_unused(project: Project) -> bool:
    root = project.root
    for path in inputs.build_inputs(root, (project.out_dir, project.state_dir)):
        rel = path.relative_to(root)
        if rel.name.endswith("_test.go") or ("testdata" in rel.parts and rel.parts[0] != "vendor"):
            return False
    return True
