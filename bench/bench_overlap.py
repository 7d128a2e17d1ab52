"""`doit check` on real modules against its critical-path floor and the serial commands.

Run: python bench/bench_overlap.py [--rounds N] [--dir DIR] [--set seconds|short|tiny]
On three real public Go modules with dependencies (--set seconds, the default: tests of
3-5 s, as the issue's case: github.com/go-playground/validator/v10 v10.30.6,
github.com/prometheus/common v0.73.1, github.com/alecthomas/chroma/v2 v2.27.0; short:
~2 s, gin v1.12.0, echo/v4 v4.16.0, hcl/v2 v2.25.0; tiny: under 1 s, cobra v1.10.2,
logrus v1.10.2, urfave/cli/v2 v2.27.7, where start-up is most of the run; testify
v1.12.1 stands in for one that cannot be prepared), fetched from the Go module proxy,
their
dependencies through the go command from the same proxy (checksums from the default
checksum database, which the go command reaches through the proxy), each with a
gobuild.toml from `gobuild init` pinned to Go 1.27.3 and a `dev` profile of
GOFLAGS=-count=1 (compiled packages and vet results reused, test results never), and
the check budget at its default (all of the host's CPUs, no caps configured):

  floor:   max(the longest unit run alone, CPU-seconds of all units / the budget's CPUs),
           each unit being the command gobuild plans (plan_checks, kinds test and lint)
           run directly with the environment gobuild gives it
  check:   `doit check` wall (target <= 1.10x the floor: on a budget of 2 CPUs test and
           lint must not simply queue when the test leaves CPU idle)
  serial:  the same unit commands run one after another (the sum of their walls alone)

Both sides share one GOCACHE and GOMODCACHE (under the bench's temporary directory),
warmed by a discarded `doit check` in each module. Rounds alternate which side goes
first; medians of each round's ratio are printed. A unit that fails (a real module's
tests may need a network or a non-root user) does not stop the bench: its status is
reported, and it counts as what it cost. The units' span inside the `doit check` run
(first start to last end, from its summary.json) is printed beside the wall, so the
fixed start-up cost (interpreter, doit, planning) shows apart from the scheduling.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from gobuild.builds.goenv import go_environ  # noqa: E402
from gobuild.checks.limits.detect import detect  # noqa: E402
from gobuild.checks.plan import CheckPlan, plan_checks  # noqa: E402
from gobuild.checks.run import find_tools  # noqa: E402
from gobuild.checks.units import Unit  # noqa: E402
from gobuild.project.config import load_project  # noqa: E402

BIN = Path(sys.executable).parent
GO_VERSION = "1.27.3"
SETS = {
    "seconds": [
        ("github.com/go-playground/validator/v10", "v10.30.6"),
        ("github.com/prometheus/common", "v0.73.1"),
        ("github.com/alecthomas/chroma/v2", "v2.27.0"),
    ],
    "short": [
        ("github.com/gin-gonic/gin", "v1.12.0"),
        ("github.com/labstack/echo/v4", "v4.16.0"),
        ("github.com/hashicorp/hcl/v2", "v2.25.0"),
    ],
    "tiny": [
        ("github.com/spf13/cobra", "v1.10.2"),
        ("github.com/sirupsen/logrus", "v1.10.2"),
        ("github.com/urfave/cli/v2", "v2.27.7"),
    ],
}
FALLBACK = ("github.com/stretchr/testify", "v1.12.1")
TARGET = 1.10
TINY = 1.0  # seconds: a test unit shorter than this alone is called tiny
GIT = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com"]


@dataclass
class Sample:
    """One unit run alone: how it ended and what it cost."""

    wall: float
    cpu: float
    status: str
    tests: str = ""  # go test -json: "N passed, N failed[: names]"


@dataclass
class CheckRun:
    """One `doit check` run: its wall and CPU (of the whole tree), and its summary."""

    wall: float
    cpu: float
    code: int
    span: float  # first unit start to last unit end
    lead: float  # from the command's start to the first unit's start
    units: dict[str, tuple[float, float]]  # each unit's start (after the first) and wall
    mechanism: str


@dataclass
class Module:
    """A prepared module and what its rounds measured."""

    path: str
    version: str
    root: Path
    goflags: list[str]
    plan: CheckPlan
    base_env: dict[str, str]
    tools: Mapping[str, str]
    alone: list[dict[str, Sample]] = field(default_factory=list)
    checks: list[CheckRun] = field(default_factory=list)

    @property
    def units(self) -> tuple[Unit, ...]:
        return self.plan.units


def escape(path: str) -> str:
    """A module path as the proxy protocol spells it (upper case as !lower)."""
    return re.sub(r"[A-Z]", lambda m: "!" + m.group(0).lower(), path)


def default_proxy(work: Path) -> str:
    """GOPROXY if set, else the pinned go command's default (its first proxy URL)."""
    probe = work / "probe"
    probe.mkdir()
    (probe / "go.mod").write_text("module example.com/probe\n\ngo 1.22\n")
    (probe / "gobuild.toml").write_text(f'[go]\nversion = "{GO_VERSION}"\n')
    value = (
        os.environ.get("GOPROXY")
        or run([str(BIN / "gobuild"), "go", "env", "GOPROXY"], probe).stdout
    )
    for entry in re.split(r"[,|]", value.strip()):
        if entry.startswith(("https://", "http://")):
            return entry.rstrip("/")
    raise RuntimeError(f"GOPROXY={value.strip()!r} names no proxy to fetch the modules from")


def fetch_module(proxy: str, module: str, version: str, dest: Path) -> None:
    """Unzip ``module@version`` from ``proxy`` into ``dest``, without the zip's prefix."""
    url = f"{proxy}/{escape(module)}/@v/{escape(version)}.zip"
    with urllib.request.urlopen(url, timeout=120) as resp:
        data = resp.read()
    prefix = f"{module}@{version}/"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            if not info.filename.startswith(prefix):
                raise RuntimeError(f"{url}: {info.filename} is outside {prefix}")
            name = info.filename[len(prefix) :]
            target = (dest / name).resolve()
            if not target.is_relative_to(dest.resolve()):
                raise RuntimeError(f"{url}: {info.filename} escapes the module")
            if name and not name.endswith("/"):
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.read(info))


def run(argv: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a preparation step; on failure (when ``check``) raise with its output."""
    done = subprocess.run(argv, cwd=cwd, check=False, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: exit {done.returncode}\n{done.stderr[-2000:]}")
    return done


def configure(root: Path, goflags: list[str], extra: str = "") -> None:
    """Pin Go and add the dev profile's GOFLAGS (and ``extra`` TOML) to the gobuild.toml
    `gobuild init` wrote."""
    config = root / "gobuild.toml"
    text, n = re.subn(
        r'(?m)^version = ".*"$', f'version = "{GO_VERSION}"', config.read_text(), count=1
    )
    if n != 1:
        raise RuntimeError(f"{config}: no [go] version line to pin")
    text = re.sub(r"(?s)\n# bench settings\n.*", "", text)
    flags = ", ".join(json.dumps(f) for f in goflags)
    config.write_text(
        f"{text.rstrip()}\n\n# bench settings\n{extra}[profiles.dev]\ngoflags = [{flags}]\n"
    )


def checkout(proxy: str, module: str, version: str, root: Path, extra: str = "") -> list[str]:
    """Fetch, commit, `gobuild init`, configure (with ``extra``), lock, resolve the
    dependencies, commit; the GOFLAGS of the dev profile."""
    root.mkdir(parents=True)
    fetch_module(proxy, module, version, root)
    run(["git", "init", "-q"], root)
    run([*GIT, "add", "-A"], root)
    run([*GIT, "commit", "-qm", f"{module} {version}"], root)
    gobuild = str(BIN / "gobuild")
    run([gobuild, "init"], root)
    goflags = ["-count=1"]
    configure(root, goflags, extra)
    run([gobuild, "lock"], root)
    # The module's packages and their tests' dependencies, from the proxy; a go.sum
    # that lacks some of them makes the go command refuse unless -mod=mod.
    listed = run([gobuild, "go", "list", "-e", "-deps", "-test", "./..."], root, check=False)
    if listed.returncode != 0:
        if "go.sum" not in listed.stderr:
            raise RuntimeError(f"go list: exit {listed.returncode}\n{listed.stderr[-2000:]}")
        goflags.append("-mod=mod")
        configure(root, goflags, extra)
        run([gobuild, "go", "list", "-e", "-deps", "-test", "./..."], root)
    run([*GIT, "add", "-A"], root)
    run([*GIT, "commit", "-qm", "gobuild"], root)
    return goflags


def prepare(proxy: str, module: str, version: str, root: Path) -> Module:
    """Check the module out (:func:`checkout`) and plan its checks."""
    goflags = checkout(proxy, module, version, root)
    project = load_project(root)
    plan = plan_checks(project, ("test", "lint"))
    goroot = Path(plan.goroot)
    base_env = go_environ(goroot, project.env.variables, scrub=plan.scrubbed)
    tools = find_tools(goroot, dict(plan.tools))
    return Module(module, version, root, goflags, plan, base_env, tools)


def wait_usage(child: subprocess.Popen[bytes]) -> tuple[int, float]:
    """Reap ``child``: its exit code and the CPU seconds of it and its reaped descendants."""
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    return child.returncode, usage.ru_utime + usage.ru_stime


def test_counts(output: str) -> str:
    """``go test -json`` output as "N passed, N failed: names" (tests, not packages)."""
    counts = {"pass": 0, "fail": 0, "skip": 0}
    failed: list[str] = []
    for line in output.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        action = event.get("Action") if isinstance(event, dict) else None
        if action in counts and event.get("Test"):
            counts[action] += 1
            if action == "fail":
                failed.append(event["Test"])
    text = f"{counts['pass']} passed, {counts['fail']} failed, {counts['skip']} skipped"
    if failed:
        shown = ", ".join(failed[:3]) + (", ..." if len(failed) > 3 else "")
        text += f": {shown}"
    return text


def run_alone(module: Module, unit: Unit, log: Path) -> Sample:
    """``unit``'s command run directly, as the runner would start it (without caps)."""
    tool = module.tools.get(unit.argv[0])
    if tool is None:
        return Sample(0.0, 0.0, "skipped (not installed)")
    env = {**module.base_env, **dict(unit.env)}
    with log.open("wb") as out:
        start = time.perf_counter()
        child = subprocess.Popen(
            [tool, *unit.argv[1:]], cwd=module.root, env=env, stdout=out, stderr=out
        )
        code, cpu = wait_usage(child)
        wall = time.perf_counter() - start
    output = log.read_text(encoding="utf-8", errors="replace")
    status = "passed" if code == 0 else f"failed (exit {code})"
    if unit.output == "gofmt" and code == 0 and output.strip():
        status = "failed (gofmt would reformat)"
    tests = test_counts(output) if unit.output == "test-json" else ""
    return Sample(wall, cpu, status, tests)


def run_check(module: Module, log: Path) -> CheckRun:
    """`doit check` in the module, timed as a whole, and its summary.json."""
    summary = module.plan.reports / "summary.json"
    summary.unlink(missing_ok=True)  # a run that fails early must not show the last one's
    with log.open("wb") as out:
        t0 = time.time()
        start = time.perf_counter()
        child = subprocess.Popen([str(BIN / "doit"), "check"], cwd=module.root, stdout=out,
                                 stderr=subprocess.STDOUT)  # fmt: skip
        code, cpu = wait_usage(child)
        wall = time.perf_counter() - start
    rows = json.loads(summary.read_text()) if summary.exists() else []
    if not rows:
        raise RuntimeError(f"doit check wrote no summary (exit {code}); see {log}")
    first = min(float(r["start"]) for r in rows)
    span = max(float(r["end"]) for r in rows) - first
    units = {str(r["name"]): (float(r["start"]) - first, float(r["wall"])) for r in rows}
    mechanism = ",".join(sorted({str(r["mechanism"]) for r in rows}))
    return CheckRun(wall, cpu, code, span, first - t0, units, mechanism)


def floor_of(alone: Mapping[str, Sample], cpus: float) -> float:
    """max(the longest unit alone, all units' CPU-seconds / the budget's CPUs)."""
    longest = max(s.wall for s in alone.values())
    return max(longest, sum(s.cpu for s in alone.values()) / cpus)


def med(values: list[float]) -> float:
    """The median, or NaN for no values."""
    return statistics.median(values) if values else float("nan")


def report(module: Module) -> dict[str, float]:
    """Print one module's medians; return its ratios (medians of each round's)."""
    cpus = module.plan.budget_cpus
    floors = [floor_of(a, cpus) for a in module.alone]
    serials = [sum(s.wall for s in a.values()) for a in module.alone]
    cpu_all = med([sum(s.cpu for s in a.values()) for a in module.alone])
    checks = module.checks
    print(f"\n{module.path} {module.version}  (GOFLAGS {' '.join(module.goflags)})")
    print(f"  {'unit':<12} {'cpus':>4} {'alone':>7} {'cpu':>7} {'cpu/wall':>8}"
          f" {'in check':>8} {'at':>6}  status alone")  # fmt: skip
    for unit in module.units:
        samples = [a[unit.name] for a in module.alone]
        wall, cpu = med([s.wall for s in samples]), med([s.cpu for s in samples])
        inside = med([c.units[unit.name][1] for c in checks if unit.name in c.units])
        at = med([c.units[unit.name][0] for c in checks if unit.name in c.units])
        last = samples[-1]
        status = last.status + (f"; {last.tests}" if last.tests else "")
        busy = cpu / wall if wall > 0 else 0.0
        print(f"  {unit.name:<12} {unit.caps.cpus:>4g} {wall:>6.2f}s {cpu:>6.2f}s {busy:>8.2f}"
              f" {inside:>7.2f}s {at:>5.2f}s  {status}")  # fmt: skip
    code = checks[-1].code
    print(f"  floor      {med(floors):6.2f}s  max(longest alone, {cpu_all:.2f} CPU-s / {cpus:g})")
    print(f"  serial     {med(serials):6.2f}s  the unit commands one after another")
    print(f"  doit check {med([c.wall for c in checks]):6.2f}s  "
          f"{'passed' if code == 0 else f'exit {code}'}; "
          f"{med([c.cpu for c in checks]):.2f} CPU-s; first unit after "
          f"{med([c.lead for c in checks]):.2f}s; units' span {med([c.span for c in checks]):.2f}s;"
          f" {checks[-1].mechanism}")  # fmt: skip
    per_round = [c.wall / f for c, f in zip(checks, floors, strict=True)]
    ratios = {
        "floor": med(per_round),
        "serial": med([c.wall / s for c, s in zip(checks, serials, strict=True)]),
        "span": med([c.span / f for c, f in zip(checks, floors, strict=True)]),
    }
    verdict = "met" if ratios["floor"] <= TARGET else "NOT met"
    rounds = " ".join(f"{r:.2f}" for r in per_round)
    print(f"  check/floor  {ratios['floor']:.2f}x  (target <= {TARGET:.2f}x: {verdict};"
          f" rounds {rounds})")  # fmt: skip
    print(f"  check/serial {ratios['serial']:.2f}x")
    print(f"  span/floor   {ratios['span']:.2f}x  (the units inside doit check, without start-up)")
    tests = [med([a[u.name].wall for a in module.alone]) for u in module.units if u.kind == "test"]
    if tests and max(tests) < TINY:
        print(f"  note: the tests are tiny (under {TINY:g}s alone): start-up weighs heavily")
    return ratios


@contextlib.contextmanager
def workdir(parent: str | None) -> Iterator[Path]:
    """A temporary directory, removed even where the module cache made files read-only."""
    path = Path(tempfile.mkdtemp(prefix="bench-overlap-", dir=parent))
    try:
        yield path
    finally:
        for dirpath, dirnames, _ in os.walk(path):
            for d in dirnames:
                (Path(dirpath) / d).chmod(0o755)
        shutil.rmtree(path, ignore_errors=True)


def revision() -> str:
    """The gobuild commit measured, and whether gobuild/ differs from it."""
    head = run(["git", "rev-parse", "--short", "HEAD"], REPO, check=False).stdout.strip()
    dirty = run(["git", "status", "--porcelain", "--", "gobuild"], REPO, check=False).stdout
    return head + (" + uncommitted changes in gobuild/" if dirty.strip() else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dir", help="where the temporary directory goes (default: TMPDIR)")
    parser.add_argument("--set", choices=sorted(SETS), default="seconds", help="which modules")
    args = parser.parse_args()
    chosen = SETS[args.set]
    with workdir(args.dir) as work:
        # One GOCACHE and module cache for both sides, outside the developer's own.
        os.environ["GOCACHE"] = str(work / "gocache")
        os.environ["GOMODCACHE"] = str(work / "gomodcache")
        proxy = default_proxy(work)  # GOPROXY itself is left as it is: the go command's
        logs = work / "logs"
        logs.mkdir()
        modules: list[Module] = []
        failed: list[str] = []
        for module, version in chosen:
            try:
                modules.append(prepare(proxy, module, version, work / module.replace("/", "_")))
            except (OSError, RuntimeError, ValueError) as exc:
                failed.append(f"{module} {version}: {exc}".strip())
        if len(modules) < len(chosen):
            try:
                modules.append(prepare(proxy, *FALLBACK, work / FALLBACK[0].replace("/", "_")))
            except (OSError, RuntimeError, ValueError) as exc:
                failed.append(f"{FALLBACK[0]} {FALLBACK[1]}: {exc}".strip())
        for line in failed:
            print(f"not prepared: {line}", file=sys.stderr)
        if not modules:
            sys.exit("no module could be prepared")
        project = load_project(modules[0].root)
        mechanism, passed_over = detect("auto", project.env)
        print(f"gobuild {revision()}; Go {GO_VERSION}; budget {modules[0].plan.budget_cpus:g} "
              f"CPUs; mechanism {mechanism}" + (f" (passed over: {'; '.join(passed_over)})"
              if passed_over else ""))  # fmt: skip
        print(f"modules from {proxy}; GOPROXY={os.environ.get('GOPROXY', '(default)')} "
              f"GOSUMDB={os.environ.get('GOSUMDB', '(default)')}")  # fmt: skip
        for m in modules:  # warm the build and vet caches: discarded
            run_check(m, logs / f"{m.root.name}-warm.log")
        for i in range(args.rounds):
            for m in modules:
                tag = f"{m.root.name}-{i}"

                def alone(m: Module = m, tag: str = tag) -> None:
                    m.alone.append({
                        u.name: run_alone(m, u, logs / f"{tag}-{u.file_stem}.log")
                        for u in m.units
                    })  # fmt: skip

                def check(m: Module = m, tag: str = tag) -> None:
                    m.checks.append(run_check(m, logs / f"{tag}-check.log"))

                # Alternate which side goes first: the machine drifts.
                for side in (alone, check) if i % 2 == 0 else (check, alone):
                    side()
        print("\ncolumns: cpus = the unit's CPU cap; alone = its wall run directly, cpu = its"
              " CPU-s; in check = its wall inside `doit check`, at = its start there after the"
              " first unit's; all medians")  # fmt: skip
        ratios = [report(m) for m in modules]
        print(f"\nsummary over {len(modules)} modules, {args.rounds} round(s), medians:")
        for m, r in zip(modules, ratios, strict=True):
            print(f"  {m.path:<28} check/floor {r['floor']:.2f}x  check/serial "
                  f"{r['serial']:.2f}x  span/floor {r['span']:.2f}x")  # fmt: skip
        worst = max(r["floor"] for r in ratios)
        print(f"  worst check/floor {worst:.2f}x: target <= {TARGET:.2f}x "
              + ("met" if worst <= TARGET else "NOT met"))  # fmt: skip


if __name__ == "__main__":
    main()
