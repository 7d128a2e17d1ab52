"""Where a project keeps what gobuild reads and writes: the file names, in one place.

Standard library only and free of logic, so the front ends' fast paths (the
remembered answers, the task-spec cache) name these files without loading the
configuration schema.
"""

from __future__ import annotations

from pathlib import Path

CONFIG_NAME = "gobuild.toml"  # beside go.mod; optional
LOCK_NAME = "gobuild.lock"  # users commit it
STATE_DIR_NAME = ".gobuild"  # gobuild's working state; gitignored
DOCKERFILE_NAME = "Dockerfile"
DOCKERIGNORE_NAME = ".dockerignore"
MAKEFILE_NAME = "Makefile"
# The Dockerfile that packs the released binaries (dist/NAME_linux_ARCH) into the image.
RELEASE_DOCKERFILE_NAME = "Dockerfile.release"
# What `gobuild generate` writes, in the order it writes them.
GENERATED_NAMES = (DOCKERFILE_NAME, DOCKERIGNORE_NAME, MAKEFILE_NAME, RELEASE_DOCKERFILE_NAME)
# The CI workflows it writes when [generate] ci names their systems.
GITHUB_WORKFLOW_NAME = ".github/workflows/gobuild.yml"
GITLAB_CI_NAME = ".gitlab-ci.yml"
CI_NAMES = {"github": GITHUB_WORKFLOW_NAME, "gitlab": GITLAB_CI_NAME}


def state_dir(root: Path) -> Path:
    """The state directory of the module rooted at ``root``."""
    return root / STATE_DIR_NAME


def reports_dir(state: Path, kinds: tuple[str, ...]) -> Path:
    """``<state>/checks/<kinds>``: the reports of a check run of ``kinds``."""
    return state / "checks" / "+".join(kinds)
