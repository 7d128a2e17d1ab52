"""Whether each ``-X`` variable of a build is there to receive its value.

The linker ignores ``-X path.name=value`` without a word when the binary links no such
variable: a misspelt name, a package the binary does not import, a constant; and a
variable initialised by a call is stamped, then overwritten when its package
initialises. The binary cannot tell afterwards (builds strip the symbol table with
``-s -w``), so the check asks the build's own question: which packages does it link
(``go list -deps`` with the build's flags, tags and environment, so build constraints
and the target platform count), and does the package a variable names declare it as a
string the linker can set (:mod:`gobuild.project.govars`)?

The answer is remembered per artifact in the state directory, under a key of the plan
(flags, tags, environment, variables), the Go release and go.mod/go.sum/
vendor/modules.txt, and trusted only while the directories of every non-standard
package the build linked are unchanged (their .go files' sizes and times, and the
directories' own, which change when a file comes or goes). A rebuild after an edit
elsewhere reads it back without starting go.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gobuild import atomic, stamps
from gobuild.builds import golist
from gobuild.builds.plan import BuildPlan
from gobuild.errors import GobuildError
from gobuild.project import govars
from gobuild.project.config import Project
from gobuild.toolchain.cache import Installed

MEMO_DIR = "xvars"
_MEMO_FORMAT = "2"
_REASONS = {
    govars.CONST: "a constant",
    govars.OTHER: "not a string",
    govars.CALL: "its initialiser overwrites the value",
}


@dataclass(frozen=True)
class Linked:
    """One package a build links, as ``go list`` describes it."""

    import_path: str
    main: bool  # the package asked for (the rest are its dependencies)
    standard: bool
    dir: str
    files: tuple[str, ...]  # the .go files this build compiles (build constraints applied)


def warning(project: Project, plan: BuildPlan, installed: Installed) -> str | None:
    """One line when ``-X`` values of ``plan``'s build reach no variable, else None.

    Variables set in [build.variables] are named when they embed nothing; the defaults
    (main.version, main.commit, ...) only when none of them receives a value, as a project
    need not declare all five.
    """
    try:
        problems = dict(find_problems(project, plan, installed))
    except GobuildError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"{plan_name(plan)}: could not check the -X variables ({first})"
    configured = project.settings.build.variables.model_fields_set
    symbols = [var for var, _key in plan.xvars]
    if all(var in problems for var in symbols):
        listed = symbols
        what = "nothing is embedded: no -X variable is a string variable the binary links"
    else:
        listed = [var for var, key in plan.xvars if key in configured and var in problems]
        what = "-X embeds nothing into"
    if not listed:
        return None
    named = ", ".join(f"{var} ({problems[var]})" for var in dict.fromkeys(listed))
    return f"{plan_name(plan)}: {what}: {named}; see [build.variables] in gobuild.toml"


def plan_name(plan: BuildPlan) -> str:
    """The artifact's file name (``app``, ``app_linux_amd64``): unique in dist/."""
    return Path(plan.output).name


def find_problems(project: Project, plan: BuildPlan, installed: Installed) -> list[tuple[str, str]]:
    """(variable, why it embeds nothing) for each ``-X`` variable of ``plan`` that does."""
    root = project.root
    memo = project.state_dir / MEMO_DIR / f"{plan_name(plan)}.json"
    key = stamps.digest(
        [
            _MEMO_FORMAT,
            plan.fingerprint(),
            str(installed.version),
            str(installed.goroot),
            *(
                stamps.file(root / plan.module_dir / n)
                for n in ("go.mod", "go.sum", "vendor/modules.txt")
            ),
            *(stamps.file(root / n) for n in ("go.work", "go.work.sum")),
        ]
    )
    remembered = _recall(memo, key)
    if remembered is not None:
        return remembered
    packages = linked(plan, installed, root, project.env.variables)
    problems = problems_in(plan, packages, root)
    dirs = sorted({p.dir for p in packages if not p.standard})
    record = {"key": key, "dirs": dirs, "stamp": _dirs_stamp(dirs), "problems": problems}
    try:
        memo.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_text(memo, json.dumps(record), durable=False)
    except OSError:
        pass  # asked again next time
    return problems


def _recall(memo: Path, key: str) -> list[tuple[str, str]] | None:
    try:
        record = json.loads(memo.read_text(encoding="utf-8"))
        if record["key"] != key or record["stamp"] != _dirs_stamp(record["dirs"]):
            return None
        return [(str(var), str(why)) for var, why in record["problems"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _dirs_stamp(dirs: Iterable[str]) -> str:
    parts = []
    for d in dirs:
        parts.append(stamps.file(Path(d)))
        try:
            names = sorted(e.name for e in os.scandir(d) if e.name.endswith(".go"))
        except OSError:
            continue
        parts += [stamps.file(Path(d, n)) for n in names]
    return stamps.digest(parts)


def linked(
    plan: BuildPlan, installed: Installed, root: Path, environ: Mapping[str, str]
) -> list[Linked]:
    """The packages ``plan``'s build links, with the files it compiles of each."""
    command = golist.argv(installed.go, installed.version, plan.flags, [plan.module_package])
    out = golist.output(command, root / plan.module_dir, plan.environ(installed.goroot, environ))
    if out is None:
        raise GobuildError("go list failed")
    decoder, i = json.JSONDecoder(), 0
    found: list[Linked] = []
    while True:
        while i < len(out) and out[i].isspace():
            i += 1
        if i >= len(out):
            return found
        try:
            obj, i = decoder.raw_decode(out, i)
        except ValueError as exc:
            raise GobuildError(f"go list: unreadable output ({exc})") from exc
        found.append(
            Linked(
                import_path=obj.get("ImportPath", ""),
                main=not obj.get("DepOnly"),
                standard=bool(obj.get("Standard")),
                dir=obj.get("Dir", ""),
                files=(*(obj.get("GoFiles") or ()), *(obj.get("CgoFiles") or ())),
            )
        )


def problems_in(plan: BuildPlan, packages: Sequence[Linked], root: Path) -> list[tuple[str, str]]:
    """(variable, why it embeds nothing) for ``plan``'s variables, given what it links."""
    by_path = {p.import_path: p for p in packages}
    main = next((p for p in packages if p.main), None)
    declared: dict[str, dict[str, govars.Kind]] = {}
    problems: list[tuple[str, str]] = []
    for var in dict.fromkeys(var for var, _key in plan.xvars):
        path, _, name = var.rpartition(".")
        package = main if path == "main" else by_path.get(path)
        if package is None:
            problems.append((var, "its package is not linked"))
            continue
        if package is main and path != "main":
            problems.append((var, f"a main package is named main: use main.{name}"))
            continue
        if path not in declared:
            found, _imports = govars.package_variables(Path(package.dir), package.files, path, root)
            declared[path] = {v.name: v.kind for v in found}
        kind = declared[path].get(name)
        if kind is None:
            problems.append((var, f"no such variable in {path}"))
        elif kind in _REASONS:
            problems.append((var, _REASONS[kind]))
    return problems
