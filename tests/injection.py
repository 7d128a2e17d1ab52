"""Every user-controlled value reaches the generated files exactly, or is rejected clearly.

Hypothesis writes gobuild.toml files whose values hold quotes, ``$``, ``#``,
backslashes, white space, control characters, non-ASCII text, ``{{ }}`` and
``${X}``. For each one, either loading and rendering fails with a one-line
GobuildError, or:

* the Dockerfile parses with BuildKit's own parser (the ``dockerfile`` package)
  into exactly the instructions of the template, and each value comes back
  exactly once BuildKit's quoting (LABEL, ARG), JSON (HEALTHCHECK, ENTRYPOINT)
  or the shell's quoting (the RUN that calls go build) is undone;
* ``make -n`` (build, dist, clean, docker, install-go) shows every recipe word
  exactly, read by a strict POSIX-shell tokenizer that refuses anything the
  shell would expand (``$``, backquotes, globs, ``~``, braces, comments)
  instead of guessing, and ``make docker`` tags the image with a valid tag;
* the -ldflags string, split the way cmd/go splits it (cmd/internal/quoted),
  gives back exactly the configured linker flags;
* .dockerignore excludes the output directory and nothing else.

One repository serves a whole test module; each example only rewrites
gobuild.toml (and, for package paths, adds the package directory).

This module holds the strategies, the independent readers and the checks;
tests/unit/test_injection.py pushes the values through the rendered Dockerfile and
.dockerignore (no Go needed: gobuild.lock is written by hand), and
tests/functional/test_injection.py through ``make -n`` (and ``make docker`` with a
stand-in client) in a project built with the real pinned Go.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dockerfile
from docker.utils.build import PatternMatcher
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from gobuild.errors import GobuildError
from gobuild.project.config import load_project
from gobuild.project.environ import Environment
from gobuild.render.generate import render_file
from tests.buildenv import GoEnv, run_env

GO_VERSION = "1.22.10"
MODULE = "example.com/twobin"
BIN_DIR = "/usr/local/bin"
DEFAULT_VARS = {
    "version": "main.version",
    "commit": "main.commit",
    "date": "main.date",
    "tree_state": "main.treeState",
    "go_version": "main.goVersion",
}
VALUE_KEYS = ("version", "commit", "date", "tree_state", "go_version")
PROFILE_KEYS = {
    "goproxy": "GOPROXY",
    "goprivate": "GOPRIVATE",
    "gonoproxy": "GONOPROXY",
    "gonosumdb": "GONOSUMDB",
    "gosumdb": "GOSUMDB",
}
STATIC_ENV = ("CGO_ENABLED=0", "GOTOOLCHAIN=local", "GOWORK=off", "GOENV=off")
PLATFORMS = (("linux", "amd64"), ("linux", "arm64"), ("darwin", "arm64"), ("windows", "amd64"))
# What `make -n` is given for the volatile values (VERSION only matters when unconfigured).
MAKE_VALUES = {"VERSION": "V0", "COMMIT": "C0", "DATE": "D0", "TREE_STATE": "T0"}

Cfg = dict[str, Any]

# --- strategies -------------------------------------------------------------------------

# Pieces that mean something to TOML, Jinja, make, sh, BuildKit, JSON or go's -ldflags splitter.
PIECES = [
    *" \t'\"$#\\`;&|<>(){}[]*?~!%:=,@^/.-_+",
    *"\x0b\x0c\x1b\x7f\x85\xa0\u2028\ufeffé☃😀",  # odd white space, controls, non-ASCII
    *["{{", "}}", "{%", "${X}", "$X", "$(X)", "$$", "\\#", "\\\\", "\\$", '\\"', "'\""],
    *["<<EOF", "-X=", " -X=main.version=", "%s", "--", "$(empty)", "\\ ", "a b", "'a b'"],
    *"aZ09",
]
BREAKERS = ["\n", "\r", "\x00", "\r\n"]  # never one line: must be rejected


def texts(*, lines: bool = True, max_size: int = 6) -> st.SearchStrategy[str]:
    """Short nasty strings; ``lines`` adds line breaks and NUL (rejections)."""
    piece = st.one_of(
        st.sampled_from(PIECES + (BREAKERS if lines else [])),
        st.characters(codec="utf-8"),
    )
    if not lines:
        piece = piece.filter(lambda s: not any(c in s for c in "\n\r\x00"))
    return st.lists(piece, max_size=max_size).map("".join)


def text_lists(max_size: int = 3) -> st.SearchStrategy[list[str]]:
    return st.lists(texts(), max_size=max_size)


TAG_LIKE = st.one_of(
    st.sampled_from(["netgo", "osusergo", "a.b", "_x", "X9", "prod", "dev"]),
    st.from_regex(r"[A-Za-z0-9_.]{1,8}", fullmatch=True),
    texts(max_size=3),
)
XVAR_LIKE = st.one_of(
    st.sampled_from(["main.v", "example.com/twobin/internal/lib.V", "a~b+c-d.x_1", "x/y.Z"]),
    st.from_regex(
        r"[A-Za-z0-9_.~+/-]{0,8}[A-Za-z0-9_~+-]\.[A-Za-z_][A-Za-z0-9_]{0,5}", fullmatch=True
    ),
    texts(max_size=4),
)
NAME_LIKE = st.one_of(
    st.sampled_from(
        [
            "a",
            "b",
            "a.b",
            "a_b",
            "a-b",
            "a+b",
            "A",
            "go",
            "help",
            "a_linux_amd64",
            "a_windows_amd64_exe",
            "b_darwin_arm64",
            "x" * 128,
        ]
    ),
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,10}", fullmatch=True),
    texts(max_size=4),
)
LABEL_KEY = st.one_of(
    st.sampled_from(
        [
            "x",
            "com.example.a-b",
            "org.opencontainers.image.version",
            "org.opencontainers.image.title",
        ]
    ),
    st.from_regex(r"[a-z0-9]([a-z0-9.-]{0,10}[a-z0-9])?", fullmatch=True),
    texts(max_size=3),
)
PATH_SEGMENT = st.one_of(
    st.from_regex(r"[A-Za-z0-9._+~-]{1,8}", fullmatch=True),
    texts(max_size=3),
)


# --- gobuild.toml from a plain description ---------------------------------------------


def toml_str(value: str) -> str:
    """A TOML basic string for any text (control characters as \\u escapes)."""
    out = ['"']
    for ch in value:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out) + '"'


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return toml_str(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(value)


def table(header: str, values: dict[str, Any]) -> list[str]:
    lines = [header]
    for key, value in values.items():
        if not isinstance(value, dict):
            lines.append(f"{toml_str(key)} = {toml_value(value)}")
    return lines


def to_toml(cfg: Cfg) -> str:
    lines = [
        "[go]",
        f"version = {toml_str(GO_VERSION)}",
        *table("[toolchain]", {"sources": ["official"], "mirror": cfg["mirror"]}),
        *table("[build]", cfg["build"]),
    ]
    if "variables" in cfg["build"]:
        lines += table("[build.variables]", cfg["build"]["variables"])
    for b in cfg["binaries"]:
        lines += table("[[binaries]]", b)
    for name, profile in cfg["profiles"].items():
        lines += table(f"[profiles.{name}]", profile)
    lines += table("[docker]", cfg["docker"])
    lines += table("[docker.labels]", cfg["docker"]["labels"])
    return "\n".join(lines) + "\n"


def base_cfg() -> Cfg:
    return {
        "mirror": "https://mirror.example/go",
        "build": {"ldflags": [], "flags": [], "tags": []},
        "binaries": [
            {"name": "a", "package": "./cmd/a", "tags": [], "ldflags": []},
            {"name": "b", "package": "./cmd/b", "tags": [], "ldflags": []},
        ],
        "profiles": {"fz": {"goproxy": "https://proxy.example", "goflags": [], "tags": []}},
        "docker": {"profile": "fz", "labels": {}, "healthcheck": [], "smoke_args": []},
    }


# --- what the files must say, from the description alone ---------------------------------


def xvars(cfg: Cfg) -> dict[str, str]:
    return {**DEFAULT_VARS, **cfg["build"].get("variables", {})}


def image_binary(cfg: Cfg) -> Cfg:
    wanted = cfg["docker"].get("binary")
    return next(b for b in cfg["binaries"] if wanted in (None, b["name"]))


def profile_env(cfg: Cfg) -> list[tuple[str, str]]:
    """The fz profile's variables (GOFLAGS always), sorted by name."""
    profile = cfg["profiles"]["fz"]
    env = {"GOFLAGS": " ".join(profile["goflags"])}
    env.update({var: profile[key] for key, var in PROFILE_KEYS.items() if key in profile})
    return sorted(env.items())


def all_tags(cfg: Cfg, binary: Cfg) -> list[str]:
    build, profile = cfg["build"]["tags"], cfg["profiles"]["fz"]["tags"]
    return sorted({*build, *binary["tags"], *profile})


def static_ldflags(cfg: Cfg, binary: Cfg) -> list[str]:
    return ["-s", "-w", "-buildid=", *cfg["build"]["ldflags"], *binary["ldflags"]]


def out_dir(cfg: Cfg) -> str:
    value: str = cfg["build"].get("out_dir", "dist")
    return value


# --- independent readers: go's -ldflags splitter, BuildKit's quotes, a strict sh -------


def go_split(s: str) -> list[str]:
    """cmd/internal/quoted.Split of Go 1.22, transcribed."""
    fields: list[str] = []
    space = " \t\n\r"
    while s:
        s = s.lstrip(space)
        if not s:
            break
        if s[0] in "'\"":
            end = s.find(s[0], 1)
            assert end >= 0, f"unterminated {s[0]} string in -ldflags"
            fields.append(s[1:end])
            s = s[end + 1 :]
            continue
        i = 0
        while i < len(s) and s[i] not in space:
            i += 1
        fields.append(s[:i])
        s = s[i:]
    return fields


def bk_unquote(word: str) -> str:
    """A double-quoted Dockerfile word as BuildKit's lexer reads it; no expansion allowed."""
    assert word.startswith('"'), word
    out: list[str] = []
    i = 1
    while i < len(word):
        c = word[i]
        if c == '"':
            assert i == len(word) - 1, f"text after the closing quote: {word!r}"
            return "".join(out)
        assert c != "$", f"unescaped $ (variable expansion) in {word!r}"
        if c == "\\" and i + 1 < len(word) and word[i + 1] in '"$\\':
            out.append(word[i + 1])
            i += 2
            continue
        out.append(c)
        i += 1
    raise AssertionError(f"unterminated double quote: {word!r}")


_SH_SAFE = re.compile(r"[A-Za-z0-9_@%+=:,./-]")
_SH_OPS = ("&&", "||", ">>", ";", "&", "|", ">", "<", "(", ")")


@dataclass(frozen=True)
class Op:
    """A shell operator token (``&&``, ``>``, ``;``...)."""

    text: str


def sh_tokens(line: str, *, stop: bool = False) -> list[str | Op]:
    """POSIX-shell words of ``line``, refusing whatever the shell would expand.

    Unquoted characters must be ones ``shlex.quote`` leaves bare; ``$`` and
    backquotes are refused inside double quotes too. So a word returned is
    exactly the argument the shell would pass, with no file, variable or
    command in between. With ``stop``, reading ends after the first operator.
    """
    tokens: list[str | Op] = []
    word: str | None = None
    i = 0
    while i < len(line):
        c = line[i]
        if c in " \t":
            if word is not None:
                tokens.append(word)
                word = None
            i += 1
        elif c == "'":
            end = line.find("'", i + 1)
            assert end >= 0, f"unterminated ' in {line!r}"
            word = (word or "") + line[i + 1 : end]
            i = end + 1
        elif c == '"':
            buf = []
            i += 1
            while True:
                assert i < len(line), f'unterminated " in {line!r}'
                ch = line[i]
                if ch == '"':
                    i += 1
                    break
                assert ch not in "$`", f"expansion inside double quotes: {line!r}"
                if ch == "\\" and i + 1 < len(line) and line[i + 1] in '$`"\\':
                    buf.append(line[i + 1])
                    i += 2
                    continue
                buf.append(ch)
                i += 1
            word = (word or "") + "".join(buf)
        elif c == "\\":
            assert i + 1 < len(line) and line[i + 1] != "\n", f"dangling \\ in {line!r}"
            word = (word or "") + line[i + 1]
            i += 2
        elif op := next((o for o in _SH_OPS if line.startswith(o, i)), None):
            if word is not None:
                tokens.append(word)
                word = None
            tokens.append(Op(op))
            i += len(op)
            if stop:
                return tokens
        else:
            assert _SH_SAFE.fullmatch(c), f"unquoted {c!r} the shell would act on: {line!r}"
            word = (word or "") + c
            i += 1
    if word is not None:
        tokens.append(word)
    return tokens


def sh_words(line: str) -> list[str]:
    tokens = sh_tokens(line)
    words = [t for t in tokens if isinstance(t, str)]
    assert len(words) == len(tokens), f"shell operators in {line!r}"
    assert shlex.split(line) == words  # the plain reading agrees
    return words


# --- the Dockerfile ---------------------------------------------------------------------


def expected_instructions(cfg: Cfg) -> list[str]:
    docker = cfg["docker"]
    return [
        *["ARG", "ARG", "FROM", "WORKDIR"],
        *["ARG"] * 6,  # the profile's module-fetching variables
        *["COPY", "RUN", "COPY"],
        *["ARG"] * 7,  # TARGETOS/ARCH/VARIANT, VERSION, COMMIT, DATE, TREE_STATE
        *["RUN", "FROM", "ARG", "ARG", "ARG", "LABEL", "COPY", "USER"],
        *["EXPOSE"] * len(docker.get("expose", [])),
        *(["HEALTHCHECK"] if docker["healthcheck"] else []),
        "ENTRYPOINT",
    ]


def check_dockerfile(text: str, cfg: Cfg) -> None:
    docker = cfg["docker"]
    binary = image_binary(cfg)
    name = binary["name"]
    path = f"{BIN_DIR}/{name}"
    syntax = docker.get("syntax")
    if syntax:  # a parser directive: the very first line
        assert text.split("\n", 1)[0] == f"# syntax={syntax}"
    cmds = dockerfile.parse_string(text)
    assert [c.cmd for c in cmds] == expected_instructions(cfg)
    assert all(not c.heredocs for c in cmds)
    by_cmd: dict[str, list[Any]] = {}
    for c in cmds:
        by_cmd.setdefault(c.cmd, []).append(c)
    args = by_cmd["ARG"]
    assert args[1].value == (f"ALPINE_VERSION={docker.get('alpine_version', '3.20')}",)
    # The profile's variables: defaults exactly as configured, or no default at all.
    wanted = dict(profile_env(cfg))
    for cmd, var in zip(
        args[2:8],
        ["GOPROXY", "GOPRIVATE", "GONOPROXY", "GONOSUMDB", "GOSUMDB", "GOFLAGS"],
        strict=True,
    ):
        assert len(cmd.value) == 1, cmd.original
        key, eq, default = cmd.value[0].partition("=")
        assert key == var
        if var in wanted:
            assert eq and bk_unquote(default) == wanted[var], (var, cmd.original)
        else:
            assert not eq, cmd.original
    check_build_run(by_cmd["RUN"][1].value[0], cfg, binary)
    # Labels: three build-arg ones, then title, source and [docker] labels sorted by key.
    label = by_cmd["LABEL"][0].value
    pairs = list(zip(label[::2], label[1::2], strict=True))
    assert pairs[:3] == [
        ("org.opencontainers.image.version", '"${VERSION}"'),
        ("org.opencontainers.image.revision", '"${COMMIT}"'),
        ("org.opencontainers.image.created", '"${DATE}"'),
    ]
    labels = {
        "org.opencontainers.image.title": name,
        "org.opencontainers.image.source": docker.get("source", MODULE),
        **docker["labels"],
    }
    assert [(k, bk_unquote(v)) for k, v in pairs[3:]] == sorted(labels.items())
    runtime = by_cmd["FROM"][1]
    assert runtime.value == (f"alpine:{docker.get('runtime_tag', '${ALPINE_VERSION}')}",)
    copy = by_cmd["COPY"][2]
    assert (copy.flags, copy.value) == (("--from=build",), (f"/out/{name}", path))
    user = docker.get("user", 65532)
    assert by_cmd["USER"][0].value == (f"{user}:{user}",)
    for cmd, port in zip(by_cmd.get("EXPOSE", []), docker.get("expose", []), strict=True):
        assert cmd.value == (str(port),)
    if docker["healthcheck"]:
        hc = by_cmd["HEALTHCHECK"][0]
        assert hc.json and hc.flags == (f"--interval={docker.get('healthcheck_interval', '30s')}",)
        assert hc.value == ("CMD", path, *docker["healthcheck"])
    entry = by_cmd["ENTRYPOINT"][0]
    assert entry.json and entry.value == (path,)


def check_build_run(run: str, cfg: Cfg, binary: Cfg) -> None:
    """The RUN that calls go build: its value-carrying words, read as sh reads them."""
    variables = xvars(cfg)
    version = cfg["build"].get("version")
    static = static_ldflags(cfg, binary)
    if version is not None:
        static.append(f"-X={variables['version']}={version}")
    static.append(f"-X={variables['go_version']}=go{GO_VERSION}")
    m = re.search(r";\s+ldflags=", run)
    assert m, run
    start = m.end() - len("ldflags=")
    tokens = sh_tokens(run[start:], stop=True)
    assert isinstance(tokens[1], Op) and tokens[1].text == ";", run
    word = tokens[0]
    assert isinstance(word, str) and word.startswith("ldflags="), run
    assert go_split(word.removeprefix("ldflags=")) == static
    # Each volatile value: ldflags="$ldflags $(q '<-X=var=>'"${ARG}")"
    pos = start
    for key in VALUE_KEYS:
        if key == "go_version" or (key == "version" and version is not None):
            continue
        lead = 'ldflags="$ldflags $(q '
        pos = run.index(lead, pos) + len(lead)
        tail = f'"${{{key.upper()}}}")"'
        end = run.index(tail, pos)
        assert sh_words(run[pos:end]) == [f"-X={variables[key]}="]
        pos = end + len(tail)
    go = re.compile(r"GOCACHE=/root/\.cache/go-build\s+go build ")
    m = go.search(run, pos)
    assert m, run
    command = run[m.end() - len("go build ") :].replace('"-ldflags=$ldflags"', "-ldflags=@")
    tags = all_tags(cfg, binary)
    assert sh_words(command) == [
        "go",
        "build",
        "-trimpath",
        *([f"-tags={','.join(tags)}"] if tags else []),
        *cfg["build"]["flags"],
        "-ldflags=@",
        "-o",
        f"/out/{binary['name']}",
        binary["package"],
    ]


def check_dockerignore(text: str, cfg: Cfg) -> None:
    """The output directory is excluded, literally: not by a glob, not negated."""
    folder = out_dir(cfg).strip("/")
    lines = [line.strip() for line in text.split("\n")]
    patterns = [line for line in lines if line and not line.startswith("#")]
    matcher = PatternMatcher(patterns)
    assert matcher.matches(folder), (folder, patterns)  # type: ignore[arg-type]
    assert matcher.matches(f"{folder}/a")  # type: ignore[arg-type]
    probes = ["go.mod", "cmd/a/main.go", "internal/lib/lib.go", "README.md"]
    probes += [folder[:i] + "Z" + folder[i + 1 :] for i, c in enumerate(folder) if c in "*?[]\\!"]
    for probe in probes:
        if probe != folder:
            assert not matcher.matches(probe), (probe, patterns)  # type: ignore[arg-type]


# --- make -n ------------------------------------------------------------------------------


def make_n(root: Path, go: GoEnv, *targets: str, values: dict[str, str] = MAKE_VALUES) -> list[str]:
    args = [f"{k}={v}" for k, v in values.items()]
    env = {k: v for k, v in run_env(go).items() if k not in ("GO", "TAGS", "OUT_DIR", "IMAGE")}
    env["HOME"] = str(root.parent)  # no ~/.netrc: `make docker` would add a --secret
    res = subprocess.run(
        ["make", "--no-print-directory", "-n", *targets, "PROFILE=fz", "TAGS=", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    return res.stdout.removesuffix("\n").split("\n")  # not splitlines(): values hold \x85


def expected_ldflags(cfg: Cfg, binary: Cfg) -> list[str]:
    variables = xvars(cfg)
    values = {
        "version": cfg["build"].get("version", MAKE_VALUES["VERSION"]),
        "commit": MAKE_VALUES["COMMIT"],
        "date": MAKE_VALUES["DATE"],
        "tree_state": MAKE_VALUES["TREE_STATE"],
        "go_version": f"go{GO_VERSION}",
    }
    return [*static_ldflags(cfg, binary), *(f"-X={variables[k]}={values[k]}" for k in VALUE_KEYS)]


def check_go_build(
    line: str, cfg: Cfg, binary: Cfg, target: tuple[str, str] | None, go: str
) -> None:
    words = sh_words(line)
    env = [*STATIC_ENV, *([f"GOOS={target[0]}", f"GOARCH={target[1]}"] if target else [])]
    env += [f"{k}={v}" for k, v in profile_env(cfg)]
    assert words[: len(env)] == env, (words, env)
    rest = words[len(env) :]
    ld = next((w for w in rest if w.startswith("-ldflags=")), None)
    assert ld is not None, words
    assert go_split(ld.removeprefix("-ldflags=")) == expected_ldflags(cfg, binary), (ld, binary)
    output = f"{out_dir(cfg)}/{binary['name']}"
    if target:
        output += f"_{target[0]}_{target[1]}" + (".exe" if target[0] == "windows" else "")
    tags = all_tags(cfg, binary)
    assert rest == [
        go,
        "build",
        "-trimpath",
        *cfg["build"]["flags"],
        *([f"-tags={','.join(tags)}"] if tags else []),
        ld,
        "-o",
        output,
        binary["package"],
    ]


def check_make(root: Path, go: GoEnv, cfg: Cfg) -> None:
    out = out_dir(cfg)
    lines = make_n(root, go, "build", "dist")
    local = root / ".gobuild" / "go" / "bin" / "go"
    go_cmd = str(local) if local.exists() else "go"  # the Makefile's $(GO)
    assert lines[0].startswith(f"v=$({go_cmd} env GOVERSION"), lines
    mkdir = ["mkdir", "-p", out]
    binaries = cfg["binaries"]
    expect_len = 1 + 2 * len(binaries) + 1 + len(binaries) * len(PLATFORMS) + 1
    assert len(lines) == expect_len, lines
    i = 1
    for b in binaries:
        assert sh_words(lines[i]) == mkdir
        check_go_build(lines[i + 1], cfg, b, None, go_cmd)
        i += 2
    assert sh_words(lines[i]) == mkdir
    i += 1
    artifacts = []
    for b in binaries:
        for target in PLATFORMS:
            check_go_build(lines[i], cfg, b, target, go_cmd)
            artifacts.append(
                f"{b['name']}_{target[0]}_{target[1]}" + (".exe" * (target[0] == "windows"))
            )
            i += 1
    assert sh_tokens(lines[i]) == [
        "cd",
        out,
        Op("&&"),
        "sha256sum",
        *artifacts,
        Op(">"),
        "SHA256SUMS",
    ]
    assert [sh_words(line) for line in make_n(root, go, "clean")] == [["rm", "-rf", out]]
    check_make_docker(root, go, cfg)
    # install-go downloads from the mirror: url=<mirror>/dl/"$f", $f the only expansion.
    script = "\n".join(make_n(root, go, "install-go"))
    lead, tail = "url=", '/"$f"; echo "downloading $url"'
    start = script.index(lead)
    end = script.index(tail, start)
    assert sh_words(script[start:end] + "/F") == ["url=" + cfg["mirror"].rstrip("/") + "/dl/F"]


def check_make_docker(root: Path, go: GoEnv, cfg: Cfg) -> None:
    """`make docker`, run for real with a docker stand-in that records its argv: the
    build args exactly, and a tag Docker accepts."""
    version = cfg["build"].get("version")
    values = {k: v for k, v in MAKE_VALUES.items() if k != "VERSION" or version is None}
    fake = root.parent / "fake-docker"
    record = root.parent / "docker-argv"
    if not fake.exists():
        fake.write_text('#!/bin/sh\nfor a in "$@"; do printf \'%s\\0\' "$a"; done >"$ARGV_OUT"\n')
        fake.chmod(0o755)
    record.unlink(missing_ok=True)
    args = [f"{k}={v}" for k, v in values.items()]
    env = {k: v for k, v in run_env(go).items() if k not in ("GO", "TAGS", "OUT_DIR", "IMAGE")}
    env.update(HOME=str(root.parent), ARGV_OUT=str(record))
    res = subprocess.run(
        ["make", "--no-print-directory", "docker", f"DOCKER={fake}", "DOCKER_BUILD=build",
         "PROFILE=fz", "TAGS=", *args],
        cwd=root, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    words = record.read_bytes().decode().split("\0")[:-1]
    shown = MAKE_VALUES["VERSION"] if version is None else version
    build_args = [f"{k}={shown if k == 'VERSION' else v}" for k, v in MAKE_VALUES.items()]
    name = image_binary(cfg)["name"]
    wanted = cfg["docker"].get("name") or re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip("._-")
    assert words[0] == "build"
    assert words[1:9] == [w for a in build_args for w in ("--build-arg", a)]
    # gobuild's own Dockerfile, named: [generate] may put it anywhere.
    assert words[9:] == ["-f", "Dockerfile", "-t", words[12], "."]
    image, _, tag = words[12].rpartition(":")
    assert image == (wanted or "app")
    assert re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", tag), f"not a Docker tag: {tag!r}"


# --- the project under test --------------------------------------------------------------


@dataclass
class Repo:
    """The project under test: its root, its toolchain cache, and (for ``make``) the Go env."""

    root: Path
    cache: Path
    go: GoEnv | None = None

    def write(self, cfg: Cfg) -> str:
        text = to_toml(cfg)
        (self.root / "gobuild.toml").write_text(text, encoding="utf-8")
        return text

    def render(self, cfg: Cfg) -> dict[str, str] | None:
        """The three generated files, or None when gobuild rejects ``cfg`` clearly."""
        self.write(cfg)
        try:
            project = load_project(self.root, env=Environment({"GOBUILD_CACHE": str(self.cache)}))
            return {n: render_file(project, n) for n in ("Dockerfile", ".dockerignore", "Makefile")}
        except GobuildError as exc:
            message = str(exc)
            assert message.strip(), "an empty error message"
            assert len(message.splitlines()) == 1, f"a multi-line error: {message!r}"
            return None

    def add_package(self, package: str) -> None:
        """Create the main package ``package`` names, when it is a plain relative path."""
        parts = package.removeprefix("./").split("/")
        if not package.startswith("./p/") or any(
            p in ("", ".", "..") or "\x00" in p or len(p.encode()) > 200 for p in parts
        ):
            return
        folder = self.root.joinpath(*parts)
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(self.root / "cmd" / "a" / "main.go", folder / "main.go")


def toml_roundtrip(cfg: Cfg) -> None:
    """Our TOML writer is exact (else a failure would be ours, not gobuild's)."""
    data = tomllib.loads(to_toml(cfg))
    assert data["build"]["ldflags"] == cfg["build"]["ldflags"]
    assert data["docker"]["labels"] == cfg["docker"]["labels"]
    assert data["binaries"][0] == cfg["binaries"][0]
    assert data["profiles"] == cfg["profiles"]
    assert data["toolchain"]["mirror"] == cfg["mirror"]


# --- one field at a time ------------------------------------------------------------------

Setter = Callable[[Cfg, Any], None]


def _set(*path: str | int) -> Setter:
    def setter(cfg: Cfg, value: Any) -> None:
        node: Any = cfg
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value

    return setter


def _set_variable(cfg: Cfg, value: tuple[str, str]) -> None:
    cfg["build"]["variables"] = {value[0]: value[1]}


def _set_names(cfg: Cfg, value: tuple[str, str]) -> None:
    cfg["binaries"][0]["name"], cfg["binaries"][1]["name"] = value
    # Each binary's own linker flag tells the two recipes apart.
    cfg["binaries"][0]["ldflags"] = ["-X=main.commit=from-first"]
    cfg["binaries"][1]["ldflags"] = ["-X=main.commit=from-second"]


def _set_labels(cfg: Cfg, value: dict[str, str]) -> None:
    cfg["docker"]["labels"] = value


FIELDS: dict[str, tuple[st.SearchStrategy[Any], Setter]] = {
    "build.version": (texts(), _set("build", "version")),
    "build.ldflags": (text_lists(), _set("build", "ldflags")),
    "binaries.ldflags": (text_lists(), _set("binaries", 0, "ldflags")),
    "build.flags": (st.lists(texts().map(lambda s: "-" + s), max_size=3), _set("build", "flags")),
    "build.tags": (st.lists(TAG_LIKE, max_size=3), _set("build", "tags")),
    "binaries.tags": (st.lists(TAG_LIKE, max_size=3), _set("binaries", 0, "tags")),
    "profiles.tags": (st.lists(TAG_LIKE, max_size=3), _set("profiles", "fz", "tags")),
    "build.variables": (
        st.tuples(st.sampled_from(VALUE_KEYS), XVAR_LIKE),
        _set_variable,
    ),
    "build.out_dir": (
        st.one_of(
            st.lists(PATH_SEGMENT, min_size=1, max_size=2).map("/".join),
            st.sampled_from(["~", "*", "!x", "a b", "o$x", "$(id)", "d[1]", "x\\y", "a\\#b"]),
        ),
        _set("build", "out_dir"),
    ),
    "binaries.name": (st.tuples(NAME_LIKE, NAME_LIKE), _set_names),
    "binaries.package": (
        st.one_of(
            st.lists(PATH_SEGMENT, min_size=1, max_size=2).map(lambda p: "./p/" + "/".join(p)),
            st.sampled_from([".", "./cmd/a/", "cmd/a", "/cmd/a", "./cmd/../cmd/a", "./cmd//a"]),
        ),
        _set("binaries", 0, "package"),
    ),
    "profiles.goflags": (
        st.lists(
            st.one_of(
                st.from_regex(r"-[a-z]{1,5}(=[a-z0-9=,./:-]{0,6})?", fullmatch=True), texts()
            ),
            max_size=3,
        ),
        _set("profiles", "fz", "goflags"),
    ),
    "toolchain.mirror": (
        st.tuples(st.sampled_from(["https://h/", "http://h:8/", "file:///m/", "h/"]), texts()).map(
            "".join
        ),
        _set("mirror"),
    ),
    **{f"profiles.{key}": (texts(), _set("profiles", "fz", key)) for key in PROFILE_KEYS},
    "docker.labels": (st.dictionaries(LABEL_KEY, texts(), max_size=3), _set_labels),
    "docker.source": (texts(), _set("docker", "source")),
    "docker.healthcheck": (text_lists(), _set("docker", "healthcheck")),
    "docker.smoke_args": (text_lists(), _set("docker", "smoke_args")),
    "docker.syntax": (
        st.one_of(
            st.sampled_from(["docker/dockerfile:1", "docker/dockerfile:1.7@sha256:" + "0" * 64]),
            st.from_regex(r"[a-z0-9]{1,4}(/[a-z0-9]{1,4})?(:[A-Za-z0-9_.-]{1,6})?", fullmatch=True),
            texts(max_size=4).map(lambda s: "docker/dockerfile:" + s),
        ),
        _set("docker", "syntax"),
    ),
    "docker.alpine_version": (
        st.one_of(st.from_regex(r"[0-9]{1,2}\.[0-9]{1,2}(\.[0-9])?", fullmatch=True), texts()),
        _set("docker", "alpine_version"),
    ),
    "docker.runtime_tag": (
        st.one_of(st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,8}", fullmatch=True), texts()),
        _set("docker", "runtime_tag"),
    ),
    "docker.healthcheck_interval": (
        st.one_of(st.from_regex(r"[0-9]{1,3}(ms|s|m|h)", fullmatch=True), texts()),
        lambda cfg, v: cfg["docker"].update(healthcheck_interval=v, healthcheck=["-h"]),
    ),
    "docker.user": (st.integers(min_value=-3, max_value=2**31 + 3), _set("docker", "user")),
    "docker.expose": (
        st.lists(st.integers(min_value=-1, max_value=70000), max_size=3),
        _set("docker", "expose"),
    ),
}

# Fields that reach the Makefile (the others are docker-only).
MAKE_FIELDS = [
    "build.version",
    "build.ldflags",
    "binaries.ldflags",
    "build.flags",
    "build.tags",
    "profiles.tags",
    "build.variables",
    "build.out_dir",
    "binaries.name",
    "binaries.package",
    "profiles.goflags",
    "profiles.goproxy",
    "profiles.gosumdb",
    "toolchain.mirror",
]


def configured(field: str, value: Any, repo: Repo) -> Cfg:
    cfg = base_cfg()
    FIELDS[field][1](cfg, value)
    if field == "binaries.package":
        repo.add_package(value)
    toml_roundtrip(cfg)
    return cfg


# Values that pin the known hard cases: every run tries them before the random ones.
EXAMPLES: dict[str, list[Any]] = {
    "build.version": [
        "a\\#b",
        "$HOME ${X} $(id) `id`",
        "'\"",
        " lead",
        "trail ",
        "a\\",
        "#1",
        "{{ x }}",
    ],
    "build.ldflags": [
        ["-X=main.v=a\\#b"],
        ["-X=main.v=a b'c"],
        ["-X=main.v=a'b\"c d"],
        ["'q"],
        [""],
    ],
    "binaries.ldflags": [["-X=main.v=x\\#y", "-s"], ["-X=main.v=$HOME"]],
    "build.flags": [["-gcflags=all=-N -l"], ["-x\\#y"]],
    "build.variables": [("version", "x~y.v"), ("commit", "a/b+c.V")],
    "build.out_dir": ["~", "*", "!x", "a b", "o$x", "$(id)", "d[1]", "x\\y", "a\\#b", "d;x"],
    "binaries.name": [("a.b", "a_b"), ("a_linux_amd64", "a"), ("a_windows_amd64.exe", "a")],
    "binaries.package": ["./p/~x+y", "./p/-x", "./p/a b", "./p/$x"],
    "profiles.goflags": [["-a\\#b"], ["-tags=x,y", "-mod=mod"]],
    "profiles.goproxy": ["https://p/a\\#b", "https://p/$x#y?a=1&b", "a'b"],
    "profiles.gosumdb": ["sum.golang.org+key\\#x", "off"],
    "toolchain.mirror": ['https://h/"', "https://h/$HOME", "https://h/`id`", "https://h/\\#x"],
    "docker.labels": [{"x": '$HOME \\" \\'}, {"org.opencontainers.image.version": "v"}],
    "docker.source": ['https://e/$X \\ "#'],
    "docker.healthcheck": [["--x=$HOME", "\u2028", "\\"]],
}


def with_examples(field: str, test: Callable[..., None]) -> Callable[..., None]:
    for value in EXAMPLES.get(field, []):
        test = example(value=value)(test)
    return test


def generated_case(repo: Repo, cfg: Cfg) -> bool:
    """Render ``cfg``: rejected clearly (False), or every value exactly in place (True)."""
    files = repo.render(cfg)
    if files is not None:
        check_dockerfile(files["Dockerfile"], cfg)
        check_dockerignore(files[".dockerignore"], cfg)
    return files is not None


def make_case(repo: Repo, cfg: Cfg) -> bool:
    """``make -n`` of ``cfg``'s Makefile: rejected clearly (False), or exact (True)."""
    assert repo.go is not None, "make -n runs in a project built with the real Go"
    files = repo.render(cfg)
    if files is not None:
        (repo.root / "Makefile").write_text(files["Makefile"], encoding="utf-8")
        check_make(repo.root, repo.go, cfg)
    return files is not None


FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FUZZ_MAKE = settings(FUZZ, max_examples=30)


def fuzz_field(repo: Repo, field: str, case: Callable[[Repo, Cfg], bool], fuzz: settings) -> None:
    """Push ``field``'s strategy (and its explicit examples) through ``case``."""
    assert repo.render(base_cfg()) is not None  # else every example is 'rejected'

    @fuzz
    @given(value=FIELDS[field][0])
    def check(value: Any) -> None:
        accepted = case(repo, configured(field, value, repo))
        event("accepted" if accepted else "rejected")

    with_examples(field, check)()


# --- everything at once: values meet in one file ---------------------------------------

LINE = texts(lines=False, max_size=4)


@st.composite
def whole_configs(draw: st.DrawFn) -> Cfg:
    """Every field at once, mostly valid, so that values share the files."""
    cfg = base_cfg()
    names = draw(
        st.lists(
            st.from_regex(r"[a-z][a-z0-9._+-]{0,6}", fullmatch=True),
            min_size=2,
            max_size=2,
            unique=True,
        )
    )
    tag = st.from_regex(r"[A-Za-z0-9_.]{1,6}", fullmatch=True)
    for b, name in zip(cfg["binaries"], names, strict=True):
        b.update(
            name=name,
            tags=draw(st.lists(tag, max_size=2)),
            ldflags=draw(st.lists(LINE, max_size=2)),
        )
    build = cfg["build"]
    build.update(
        ldflags=draw(st.lists(LINE, max_size=2)),
        flags=draw(st.lists(LINE.map(lambda s: "-" + s), max_size=2)),
        tags=draw(st.lists(tag, max_size=2)),
    )
    if draw(st.booleans()):
        build["version"] = draw(LINE)
    profile = cfg["profiles"]["fz"]
    profile.update(
        goflags=draw(
            st.lists(st.from_regex(r"-[a-z]{1,4}(=[a-z0-9,.]{0,4})?", fullmatch=True), max_size=2)
        ),
        tags=draw(st.lists(tag, max_size=2)),
    )
    for key in PROFILE_KEYS:
        if draw(st.booleans()):
            profile[key] = draw(LINE)
        else:
            profile.pop(key, None)
    docker = cfg["docker"]
    docker.update(
        binary=draw(st.sampled_from(names)),
        labels=draw(
            st.dictionaries(
                st.from_regex(r"[a-z]([a-z0-9.-]{0,6}[a-z0-9])?", fullmatch=True), LINE, max_size=3
            )
        ),
        healthcheck=draw(st.lists(LINE, max_size=2)),
        smoke_args=draw(st.lists(LINE, max_size=2)),
    )
    if draw(st.booleans()):
        docker["source"] = draw(LINE)
    return cfg


# --- the checks themselves can fail ----------------------------------------------------


def _dq_keeps_dollar(value: object) -> str:
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _dq_keeps_backslash(value: object) -> str:
    return '"' + str(value).replace('"', '\\"').replace("$", "\\$") + '"'


def _json_unescaped(values: list[str]) -> str:
    return "[" + ", ".join(f'"{v}"' for v in values) + "]"


def _shq_naive(value: object) -> str:
    return f"'{value}'"


def _sh_single_dollar(value: object) -> str:
    return shlex.quote(str(value))


def _make_keeps_hash(value: object) -> str:
    return str(value).replace("$", "$$")


def _make_single_dollar(value: object) -> str:
    return str(value).replace("#", "\\#")


def _quote_field_never(field: str) -> str:
    return field


# (module, attribute, broken stand-in, check, field, value)
BROKEN: list[tuple[str, str, Callable[..., str], str, str, Any]] = [
    (
        "render.escape",
        "dockerfile_word",
        _dq_keeps_dollar,
        "docker",
        "docker.labels",
        {"x": "$HOME"},
    ),
    (
        "render.escape",
        "dockerfile_word",
        _dq_keeps_dollar,
        "docker",
        "profiles.goproxy",
        "https://p/${X}",
    ),
    ("render.escape", "dockerfile_word", _dq_keeps_backslash, "docker", "docker.source", "a\\$b"),
    ("render.escape", "json_array", _json_unescaped, "docker", "docker.healthcheck", ['a"b']),
    ("render.escape", "shell_quote", _shq_naive, "docker", "build.ldflags", ["-X=main.v=it's"]),
    ("render.escape", "shell_quote", _shq_naive, "docker", "build.flags", ["-x='$HOME'"]),
    ("render.escape", "make_shell_word", _sh_single_dollar, "make", "build.flags", ["-x=$HOME"]),
    ("render.escape", "make_value", _make_keeps_hash, "make", "profiles.goproxy", "https://p/#x"),
    (
        "render.escape",
        "make_value",
        _make_single_dollar,
        "make",
        "profiles.goproxy",
        "https://p/$HOME",
    ),
    (
        "render.dockerfile",
        "quote_field",
        _quote_field_never,
        "docker",
        "build.ldflags",
        ["-X=main.v=a b"],
    ),
    (
        "render.makefile",
        "quote_field",
        _quote_field_never,
        "make",
        "binaries.ldflags",
        ["-X=main.v=a b"],
    ),
]


def broken_filter_is_caught(
    repo: Repo,
    monkeypatch: Any,
    case: Callable[[Repo, Cfg], bool],
    broken: tuple[str, str, Callable[..., str], str, Any],
) -> None:
    """``case`` passes with the real filter and fails with ``broken`` patched in: the
    checks can fail. ``broken`` is a BROKEN row without its kind."""
    module, attr, stand_in, field, value = broken
    cfg = configured(field, value, repo)
    assert case(repo, cfg)  # the real filter carries the value exactly
    monkeypatch.setattr(f"gobuild.{module}.{attr}", stand_in)
    failed = False
    try:
        case(repo, cfg)
    except AssertionError:
        failed = True
    assert failed, f"{module}.{attr} broken, yet {field} = {value!r} passed the checks"


def broken_rows(kind: str) -> list[tuple[str, str, Callable[..., str], str, Any]]:
    """The BROKEN rows a kind of check (docker or make) must catch."""
    return [(m, a, b, f, v) for m, a, b, k, f, v in BROKEN if k == kind]
