"""``gobuild init``: write gobuild.toml, dodo.py and a .gitignore entry for a Go module."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from gobuild import atomic
from gobuild.errors import ConfigError
from gobuild.project import gomod, govars, workspace
from gobuild.project.config import default_binary_name
from gobuild.project.layout import CONFIG_NAME, STATE_DIR_NAME
from gobuild.project.platforms import Target
from gobuild.project.settings import Settings, Variables
from gobuild.project.toolpins import DEFAULT_PINS
from gobuild.render import engine, placement

DODO_NAME = "dodo.py"
GITIGNORE_ENTRIES = (f"/{STATE_DIR_NAME}/", "/dist/")


@dataclass(frozen=True)
class InitResult:
    """What ``init`` found and wrote."""

    module: str
    go_version: str
    packages: list[str]
    written: list[Path]
    variables: dict[str, govars.Guess] = field(default_factory=dict)  # by [build.variables] key
    placed: placement.Placement = field(default_factory=placement.Placement)

    def variables_summary(self) -> str:
        """One line: the -X variables init chose, and the values left at their defaults."""
        defaults = Variables()
        chosen = [f"{key} {g.variable.symbol}" for key, g in self.variables.items()]
        left = [
            f"{key} {getattr(defaults, key)}" for key in govars.ROLES if key not in self.variables
        ]
        if not chosen:
            return (
                "build variables: none found named like a version, commit, date or tree state; "
                f"the defaults stay ({', '.join(left)})"
            )
        text = f"build variables (guessed from their names, check them): {', '.join(chosen)}"
        return f"{text}; defaults kept: {', '.join(left)}" if left else text


def init(root: Path, force: bool = False) -> InitResult:
    """Scaffold gobuild into the project rooted at ``root`` (non-interactive): one Go
    module, several (every go.mod below, or a committed go.work's), each module's main
    packages a binary."""
    if not (root / "go.mod").is_file() and not (root / workspace.WORK_NAME).is_file():
        parent = gomod.find_module_root(root)
        if parent is not None:
            raise ConfigError(f"{root} is inside the Go module at {parent}; run gobuild init there")
        if not workspace.module_dirs(root):
            raise ConfigError(
                f"{root} is not a Go module root: no go.mod here or below (run `go mod init` first)"
            )
    space = workspace.load(root)
    mod = space.primary.gomod
    line = space.go_line()
    if line is None:
        raise ConfigError(f"{mod.path}: no go or toolchain line to take the Go version from")
    go_version = line[1]
    targets = [root / CONFIG_NAME, root / DODO_NAME]
    existing = [p.name for p in targets if p.exists()]
    if existing and not force:
        raise ConfigError(
            f"{', '.join(existing)} already exist{'s' if len(existing) == 1 else ''} in {root}; "
            "use --force to overwrite"
        )
    # Main packages that build for a platform gobuild targets by default (a wasm-only
    # main is left out: add it to [[binaries]] and [dist] by hand).
    settings = Settings()
    defaults = settings.toolchain.lock_platforms + settings.dist.platforms
    platforms = sorted({(t.goos, t.goarch) for t in map(Target.parse, defaults)})
    packages = space.main_packages(root, platforms)
    binaries = [{"name": default_binary_name(space, p), "package": p} for p in packages]
    found: dict[str, list[govars.Variable]] = {}
    for m in space.modules:
        mains = [p for p in packages if space.module_of(p) is m]
        local = [workspace.in_module(p, m.dir) for p in mains]
        per_main = govars.module_variables(root / m.dir, m.gomod.module, local)
        found.update(zip(mains, (per_main[p] for p in local), strict=True))
    guesses = govars.guess(found)
    placed = placement.choose(root)
    config_text = engine.render(
        "gobuild.toml.j2",
        module=mod.module,
        go_version=go_version,
        binaries=binaries,
        variables=_variables_lines(guesses),
        generate=placed.paths,
        tools=DEFAULT_PINS,
    )
    atomic.write_text(root / CONFIG_NAME, config_text)
    atomic.write_text(root / DODO_NAME, engine.render("dodo.py.j2"))
    written = list(targets)
    if _add_gitignore_entry(root / ".gitignore"):
        written.append(root / ".gitignore")
    return InitResult(mod.module, go_version, packages, written, guesses, placed)


def _variables_lines(guesses: dict[str, govars.Guess]) -> list[dict[str, str | bool]]:
    """[build.variables]'s lines: each value's variable, where it was found (or that none
    was, the default kept commented out)."""
    defaults = Variables()
    lines: list[dict[str, str | bool]] = []
    for key in govars.ROLES:
        g = guesses.get(key)
        if g is None:
            lines.append(
                {"key": key, "symbol": getattr(defaults, key), "found": False, "note": "default"}
            )
            continue
        notes = [g.variable.where]
        if g.missing_from:
            notes.append(f"not linked by {', '.join(g.missing_from)}")
        if g.others:
            notes.append(f"also named like it: {', '.join(g.others[:3])}")
        lines.append(
            {"key": key, "symbol": g.variable.symbol, "found": True, "note": "; ".join(notes)}
        )
    return lines


def _add_gitignore_entry(path: Path) -> bool:
    """Ignore gobuild's state and dist/: untracked files would make every build "dirty"."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    present = {line.strip().strip("/") for line in text.splitlines()}
    missing = [e for e in GITIGNORE_ENTRIES if e.strip("/") not in present]
    if not missing:
        return False
    sep = "" if not text or text.endswith("\n") else "\n"
    block = "# gobuild's state (doit database) and build outputs\n" + "".join(
        f"{e}\n" for e in missing
    )
    atomic.write_text(path, f"{text}{sep}{block}")
    return True
