"""The Docker build context: what a ``docker build`` of the module would send.

The rules are those BuildKit reads for gobuild's Dockerfile: the Dockerfile's own
ignore file (``<dockerfile>.dockerignore``, where ``[generate]`` puts gobuild's files
beside a project's own), else the .dockerignore at the root, else the generated ones
(:mod:`gobuild.render.dockerignore`); matching uses the docker SDK's implementation
of the .dockerignore pattern language, so ``gobuild context`` reports what an engine
would really receive, and which rule kept out what.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from docker.utils.build import Pattern, PatternMatcher

from gobuild.project.config import Project
from gobuild.project.layout import DOCKERFILE_NAME, DOCKERIGNORE_NAME
from gobuild.render.dockerignore import ignore_groups


def rules_file(project: Project) -> Path | None:
    """The ignore file BuildKit reads for gobuild's Dockerfile, if there is one: the
    Dockerfile-specific ``<dockerfile>.dockerignore`` first, then the root .dockerignore."""
    dockerfile = project.generated(DOCKERFILE_NAME)
    for path in (
        dockerfile.with_name(dockerfile.name + ".dockerignore"),
        project.root / DOCKERIGNORE_NAME,
    ):
        if path.is_file():
            return path
    return None


def patterns(project: Project) -> list[str]:
    """The rules in effect: the ignore file BuildKit would read, else the generated rules."""
    path = rules_file(project)
    if path is not None:
        return parse(path.read_text(encoding="utf-8", errors="replace"))
    return [p for _, group in ignore_groups(project) for p in group]


def parse(text: str) -> list[str]:
    """.dockerignore lines → patterns, as the engine reads them (comments, blanks dropped)."""
    out = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        body = os.path.normpath(line.removeprefix("!").strip()).lstrip("/")
        out.append(("!" if negate else "") + body)
    return out


@dataclass
class Report:
    """What the build context holds and what the rules kept out of it."""

    files: int = 0
    bytes: int = 0
    removed: dict[str, list[int]] = field(default_factory=dict)  # rule -> [files, bytes]
    rules_from: str = ""


def report(project: Project) -> Report:
    """Walk the context as the engine would, attributing each excluded file to its rule."""
    root = project.root
    rules = patterns(project)
    found = rules_file(project)
    out = Report(
        rules_from=found.relative_to(root).as_posix() if found is not None else "generated rules"
    )
    dockerfile = project.generated(DOCKERFILE_NAME).relative_to(root).as_posix()
    matcher = PatternMatcher([*rules, f"!{dockerfile}"])
    compiled = [Pattern(r) for r in rules]
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        for name in sorted(filenames + [d for d in dirnames if (here / d).is_symlink()]):
            full = here / name
            rel = full.relative_to(root).as_posix()
            size = full.lstat().st_size
            if matcher.matches(rel):  # type: ignore[arg-type]  # stubs say PathLike; str works
                rule = _rule_for(compiled, rel)
                entry = out.removed.setdefault(rule, [0, 0])
                entry[0] += 1
                entry[1] += size
            else:
                out.files += 1
                out.bytes += size
    return out


def _rule_for(compiled: list[Pattern], rel: str) -> str:
    """The last non-negated rule matching ``rel`` or one of its parent directories."""
    parts = rel.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    found = "?"
    for pat in compiled:
        if any(pat.match(c) for c in candidates):
            found = "?" if pat.exclusion else pat.cleaned_pattern
    return found
