"""Sharded checks: `gobuild check --shard K/N` in N directories, `gobuild report merge`.

The fixture (tests/fixtures/sharded) has six packages with tests: one fails, one skips,
every package leaves a function uncovered. Three shards, each in its own copy of the
module, split by the durations an unsharded run recorded, test every package exactly
once; merged, they count the same tests, failures, skips and coverage as the unsharded
run. A merge missing a shard, or of shards split from different durations, is refused.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from gobuild.checks.shards import assign
from gobuild.project.platforms import host
from tests.buildenv import BIN, GoEnv, make_repo, run_env

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(host().key != "linux-amd64", reason="real archives are linux/amd64"),
]

CONFIG = '[checks.test]\ncoverage = true\nsplit = "package"\n'
PACKAGES = [
    f"example.com/sharded/{p}" for p in ("alpha", "beta", "delta", "epsilon", "gamma", "zeta")
]


def gobuild(root: Path, go: GoEnv, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "gobuild"), "-C", str(root), *args],
        env=run_env(go, GOCACHE=str(go.gocache)), capture_output=True, text=True,
        check=False, timeout=600,
    )  # fmt: skip


def reports(root: Path) -> Path:
    return root / ".gobuild" / "checks" / "test"


def test_three_shards_merged_count_what_one_run_counts(tmp_path: Path, go: GoEnv) -> None:
    origin = make_repo(tmp_path / "whole", "sharded", go, CONFIG)
    whole = gobuild(origin, go, "check", "test")
    assert whole.returncode == 1, whole.stdout + whole.stderr  # TestMaxIsWrong
    durations = origin / ".gobuild" / "checks" / "durations.json"
    recorded = json.loads(durations.read_text())
    assert sorted(recorded) == PACKAGES and all(t > 0 for t in recorded.values())
    alone = gobuild(
        origin, go, "report", "merge", str(reports(origin)), "-o", str(tmp_path / "one")
    )
    assert alone.returncode == 1
    assert alone.stdout.startswith(
        "merged 1 run: 6 units (1 failed), 6 packages, 26 tests (24 passed, 1 failed, "
        "1 skipped), coverage "
    ), alone.stdout
    # The coverage figure is the go command's own (go tool cover -func's total).
    cover = gobuild(origin, go, "go", "tool", "cover", f"-func={tmp_path / 'one' / 'coverage.out'}")
    total = cover.stdout.strip().splitlines()[-1].split()[-1]
    assert f"coverage {total.rstrip('%')}% of statements" in alone.stdout, (
        cover.stdout,
        alone.stdout,
    )

    shard_dirs = []
    for k in (1, 2, 3):
        clone = tmp_path / f"machine-{k}" / "src"
        shutil.copytree(origin, clone, ignore=shutil.ignore_patterns(".gobuild"))
        res = gobuild(
            clone, go, "check", "test", "--shard", f"{k}/3", "--durations", str(durations)
        )
        shard = json.loads((reports(clone) / "shard.json").read_text())
        assert shard["shard"] == f"{k}/3"
        # Only the shard's packages were tested.
        tested = {
            json.loads(line).get("Package")
            for line in (reports(clone) / "test.json").read_text().splitlines()
        }
        assert tested - {None} == set(shard["packages"]), (tested, shard)
        failed = "example.com/sharded/gamma" in shard["packages"]
        assert res.returncode == (1 if failed else 0), res.stdout + res.stderr
        shard_dirs.append((clone, shard["packages"]))
    split = [p for _, packages in shard_dirs for p in packages]
    assert sorted(split) == PACKAGES  # every package once
    assert all(packages for _, packages in shard_dirs)  # six packages, three shards: none idle

    merged = gobuild(origin, go, "report", "merge", *(str(reports(c)) for c, _ in shard_dirs),
                     "-o", str(tmp_path / "merged"))  # fmt: skip
    assert merged.returncode == 1
    assert (
        merged.stdout.replace("3 shards", "1 run").split(" -> ")[0] == alone.stdout.split(" -> ")[0]
    )
    one = (tmp_path / "one" / "coverage.out").read_text()
    assert (tmp_path / "merged" / "coverage.out").read_text() == one
    assert (
        json.loads((tmp_path / "merged" / "durations.json").read_text()).keys() == recorded.keys()
    )
    units = json.loads((tmp_path / "merged" / "summary.json").read_text())
    assert sorted(u["shard"] for u in units) == sorted(
        f"{k}/3" for k, (_, packages) in enumerate(shard_dirs, start=1) for _ in packages
    )

    # A missing shard, or shards split from other durations, are refused by name.
    res = gobuild(origin, go, "report", "merge", str(reports(shard_dirs[0][0])),
                  str(reports(shard_dirs[2][0])), "-o", str(tmp_path / "bad"))  # fmt: skip
    assert res.returncode == 1 and "shard 2/3 missing" in res.stderr, res.stderr
    other = tmp_path / "machine-2" / "other"
    shutil.copytree(origin, other, ignore=shutil.ignore_patterns(".gobuild"))
    res = gobuild(other, go, "check", "test", "--shard", "2/3")  # no durations: by count
    assert len(json.loads((reports(other) / "shard.json").read_text())["packages"]) == 2
    # Durations that surely split otherwise than the recorded ones did (a split by count
    # can come out the same as theirs, and then merging it is right).
    theirs = [packages for _, packages in shard_dirs]
    heavy = next(
        weights
        for weights in ({**dict.fromkeys(PACKAGES, 1.0), p: 100.0} for p in PACKAGES)
        if assign(PACKAGES, 3, weights) != theirs
    )
    skewed = tmp_path / "skewed.json"
    skewed.write_text(json.dumps(heavy))
    res = gobuild(other, go, "check", "test", "--shard", "2/3", "--durations", str(skewed))
    res = gobuild(origin, go, "report", "merge", str(reports(shard_dirs[0][0])),
                  str(reports(other)), str(reports(shard_dirs[2][0])), "-o", str(tmp_path / "bad"))  # fmt: skip
    assert res.returncode == 1 and "the shards were split differently" in res.stderr, res.stderr


def test_a_bad_shard_is_one_line(tmp_path: Path, go: GoEnv) -> None:
    root = make_repo(tmp_path / "m", "sharded", go, CONFIG)
    for bad in ("0/3", "4/3", "3", "a/b"):
        res = gobuild(root, go, "check", "test", "--shard", bad)
        assert res.returncode == 1
        assert res.stderr.strip().splitlines() == [
            f"gobuild: error: --shard {bad!r}: expected K/N with 1 <= K <= N <= 256"
        ], res.stderr


def test_the_github_workflow_runs_three_shards_and_merges_them(tmp_path: Path, go: GoEnv) -> None:
    """The generated workflow's own steps, run as Actions would run them: each shard's
    script in its own checkout with the matrix value put in, the reports carried over as
    artifacts, then the merge job's scripts."""
    import yaml

    config = CONFIG + 'shards = 3\n[generate]\nci = ["github"]\n'
    origin = make_repo(tmp_path / "origin", "sharded", go, config)
    res = gobuild(origin, go, "generate", ".github/workflows/gobuild.yml")
    assert res.returncode == 0, res.stderr
    jobs = yaml.safe_load((origin / ".github" / "workflows" / "gobuild.yml").read_text())["jobs"]
    test_script = next(s["run"] for s in jobs["test"]["steps"] if "check test" in s.get("run", ""))
    merge_dir = tmp_path / "merge-job"
    shutil.copytree(origin, merge_dir, ignore=shutil.ignore_patterns(".gobuild"))
    env = {**run_env(go, GOCACHE=str(go.gocache)), "PATH": f"{BIN}:{run_env(go)['PATH']}"}
    for k in (1, 2, 3):
        job = tmp_path / f"test-job-{k}"
        shutil.copytree(origin, job, ignore=shutil.ignore_patterns(".gobuild"))
        script = test_script.replace("${{ matrix.shard }}", str(k))
        done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
                              cwd=job, env=env, capture_output=True, text=True, check=False)  # fmt: skip
        failed = (
            "example.com/sharded/gamma"
            in json.loads((reports(job) / "shard.json").read_text())["packages"]
        )
        assert done.returncode == (1 if failed else 0), done.stdout + done.stderr
        # upload-artifact gobuild-test-K, download-artifact into shards/
        shutil.copytree(reports(job), merge_dir / "shards" / f"gobuild-test-{k}")
    outputs = []
    for step in jobs["merge"]["steps"]:
        if "run" not in step or "pip install" in step["run"]:
            continue  # gobuild is installed here already: nothing is fetched
        done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                              cwd=merge_dir, env=env, capture_output=True, text=True, check=False)  # fmt: skip
        outputs.append((done.returncode, done.stdout))
    merged_rc, merged_out = outputs[0]
    assert merged_rc == 1  # TestMaxIsWrong: the merge job fails the run
    assert merged_out.startswith("merged 3 shards: 6 units (1 failed), 6 packages, 26 tests "), (
        merged_out
    )
    assert outputs[1][0] == 0  # the durations are kept for the next run's split
    kept = json.loads((merge_dir / ".gobuild-ci" / "durations.json").read_text())
    assert sorted(kept) == PACKAGES
