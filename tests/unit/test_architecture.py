"""The house rules that import-linter cannot state, read from the source itself."""

from __future__ import annotations

import ast
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "gobuild"
FRONT_ENDS = ("cli", "tasks", "ui", "dodo.py", "__main__.py")
# Run by path as a helper process: it talks to its parent on its own stdout.
HELPER = PACKAGE / "toolchain" / "archive" / "tarworker.py"


def modules() -> Iterator[Path]:
    yield from sorted(PACKAGE.rglob("*.py"))


def rel(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


def is_front_end(path: Path) -> bool:
    return rel(path).split("/", 1)[0] in FRONT_ENDS


def tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), str(path))


def prints(module: ast.Module) -> list[int]:
    """Lines that print or write to the process's own streams."""
    found = []
    for node in ast.walk(module):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("print", "exit", "quit")
        ):
            found.append(node.lineno)
        if (
            isinstance(node, ast.Attribute)
            and node.attr in ("stdout", "stderr", "exit")
            and isinstance(node.value, ast.Name)
            and node.value.id == "sys"
        ):
            found.append(node.lineno)
    return found


def environ_reads(module: ast.Module) -> list[int]:
    """Lines that read the process environment (os.environ, os.getenv)."""
    return [
        node.lineno
        for node in ast.walk(module)
        if isinstance(node, ast.Attribute)
        and node.attr in ("environ", "getenv", "environb")
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
    ]


def test_only_front_ends_print() -> None:
    offenders = {
        rel(p): lines
        for p in modules()
        if not is_front_end(p) and p != HELPER and (lines := prints(tree(p)))
    }
    assert offenders == {}


def test_only_the_project_layer_reads_the_environment() -> None:
    offenders = {rel(p): lines for p in modules() if (lines := environ_reads(tree(p)))}
    assert offenders == {"project/environ.py": offenders.get("project/environ.py", [])}
    assert len(offenders["project/environ.py"]) == 1  # current(), the one read


def test_the_state_directory_is_named_once() -> None:
    named = [
        (rel(p), node.lineno)
        for p in modules()
        for node in ast.walk(tree(p))
        if isinstance(node, ast.Constant) and node.value == ".gobuild"
    ]
    assert [where for where, _ in named] == ["project/layout.py"], named


def test_the_helper_process_imports_the_standard_library_only() -> None:
    imported = set()
    for node in ast.walk(tree(HELPER)):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.add(node.module.split(".")[0])
    outside = imported - set(sys.stdlib_module_names) - {"__future__", "isal"}
    assert outside == set()


def test_every_room_ships_in_the_wheel() -> None:
    listed = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())["tool"]["setuptools"]
    rooms = {
        ".".join(("gobuild", *init.parent.relative_to(PACKAGE).parts))
        for init in PACKAGE.rglob("__init__.py")
    }
    assert rooms - set(listed["packages"]) == set()


@pytest.mark.parametrize("init", sorted(PACKAGE.rglob("__init__.py")), ids=rel)
def test_every_room_says_what_it_is_for_and_holds_no_logic(init: Path) -> None:
    module = tree(init)
    doc = ast.get_docstring(module)
    assert doc, f"{rel(init)} has no docstring"
    body = module.body[1:]  # after the docstring
    # The package's own __init__ may carry __version__; nothing else holds code.
    allowed = (ast.Assign,) if init.parent == PACKAGE else ()
    assert all(isinstance(node, allowed) for node in body), rel(init)
    if init.parent != PACKAGE:
        assert "May import" in doc, f"{rel(init)} does not say what the room may import"
