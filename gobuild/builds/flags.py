"""The go flags that builds and checks share: which module mode, which build tags.

``-mod=vendor`` when the module vendors, and the union of build tags, each decided
here once: the build plan, the check commands and the renderers call these.
"""

from __future__ import annotations

from gobuild.project.config import Project
from gobuild.project.settings import BinarySection


def mod_flags(project: Project, module_dir: str = ".") -> list[str]:
    """``-mod=vendor`` when the module at ``module_dir`` vendors (go would otherwise
    fetch), else nothing. In a committed workspace, the workspace's vendor/ (``go work
    vendor``, at the root) is the one that counts."""
    folder = "." if project.workspace.gowork else module_dir
    vendored = (project.root / folder / "vendor" / "modules.txt").is_file()
    return ["-mod=vendor"] if vendored else []


def tag_union(
    project: Project, binary: BinarySection | None = None, *, selected: bool = True
) -> tuple[str, ...]:
    """The build tags, sorted and unique: ``[build] tags`` and the binary's, plus (with
    ``selected``) the active profile's and GOBUILD_TAGS.

    The Makefile passes ``selected=False``: make chooses the profile and extra tags
    itself (``PROFILE=``, ``TAGS=``) and takes the same union then.
    """
    tags = {*project.settings.build.tags, *(binary.tags if binary else ())}
    if selected:
        tags |= {*project.profile.tags, *project.env_tags}
    return tuple(sorted(tags))


def tags_flag(tags: tuple[str, ...], flag: str = "-tags") -> list[str]:
    """``-tags=a,b`` (or another spelling of the flag), nothing without tags."""
    return [f"{flag}={','.join(tags)}"] if tags else []
