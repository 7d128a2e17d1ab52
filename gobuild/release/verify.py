"""Checking a release directory: every artifact the record lists, with its digest.

``gobuild release verify DIR`` reads ``release.json`` and SHA256SUMS and says exactly
what does not hold: a file missing, a file whose bytes changed (its digest and size
against the record's), a SHA256SUMS line that disagrees, a file the record does not
list. Nothing is trusted that the record does not name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from gobuild.builds.records import SUMS_NAME
from gobuild.digest import sha256_file
from gobuild.errors import GobuildError
from gobuild.oci.layout import Descriptor, Layout
from gobuild.release.record import RECORD_NAME
from gobuild.release.signing import load_verify_key, open_envelope


@dataclass(frozen=True)
class Verdict:
    """What verification found: the files that held, and every problem in one line."""

    checked: tuple[str, ...]
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """Whether nothing failed."""
        return not self.problems


def verify(directory: Path, key: Path | None = None) -> Verdict:
    """Check ``directory`` against its ``release.json`` and SHA256SUMS, and its signed
    provenance with the public ``key`` (a release that has one needs it).

    Raises :class:`~gobuild.errors.GobuildError` when there is no readable record: then
    nothing can be checked."""
    path = directory / RECORD_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        listed = {str(a["name"]): a for a in data["artifacts"]}
    except FileNotFoundError:
        raise GobuildError(f"{path} does not exist: not a gobuild release") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise GobuildError(f"{path}: not a release record ({exc})") from None
    problems: list[str] = []
    checked: list[str] = []
    for name, entry in sorted(listed.items()):
        file = directory / name
        if Path(name).name != name:
            problems.append(f"{name}: the record names a file outside the release")
            continue
        if not file.is_file():
            problems.append(f"{name}: missing")
            continue
        digest, size = sha256_file(file), file.stat().st_size
        if digest != entry.get("sha256") or size != entry.get("size"):
            problems.append(
                f"{name}: sha256 {digest} ({size} bytes), the record says "
                f"{entry.get('sha256')} ({entry.get('size')} bytes)"
            )
            continue
        checked.append(name)
    problems += _sums(directory, listed)
    image = data.get("image")
    expected = {n: a.get("sha256") for n, a in listed.items() if a.get("kind") != "provenance"}
    if isinstance(image, dict):
        layout_dir = str(image.get("layout", ""))
        found, trouble = _image(directory, image)
        checked += found
        problems += trouble
        subject = f"{layout_dir}:{image.get('tag')}"
        expected[subject] = str(image.get("index", "")).removeprefix("sha256:")
    signed = [n for n, a in listed.items() if a.get("kind") == "provenance"]
    for name in signed:
        problems += _provenance(directory / name, expected, key)
    own = {RECORD_NAME, *listed, *([image.get("layout")] if isinstance(image, dict) else [])}
    extra = sorted(p.name for p in directory.iterdir() if p.name not in own)
    problems += [f"{name}: not in the record" for name in extra]
    return Verdict(tuple(checked), tuple(problems))


def _provenance(path: Path, wanted: dict[str, object], key: Path | None) -> list[str]:
    """The envelope's signature by ``key``, and its statement's subjects: ``wanted``
    (every other artifact of the record, and its image index), at the record's digests."""
    if key is None:
        return [f"{path.name}: signature not checked: no verify key (--key, or [release] "
                "verify_key)"]  # fmt: skip
    if not path.is_file():
        return []  # missing: already said
    try:
        payload = open_envelope(json.loads(path.read_text(encoding="utf-8")), load_verify_key(key))
        subjects = {s["name"]: s["digest"]["sha256"] for s in json.loads(payload)["subject"]}
    except GobuildError as exc:
        return [f"{path.name}: {exc}"]
    except (ValueError, KeyError, TypeError) as exc:
        return [f"{path.name}: not an in-toto statement ({exc})"]
    problems = [f"{path.name}: does not name {n}" for n in sorted(wanted) if n not in subjects]
    problems += [
        f"{path.name}: {n} sha256 {d}, the record says {wanted[n]}"
        for n, d in sorted(subjects.items())
        if n in wanted and wanted[n] != d
    ]
    problems += [f"{path.name}: names {n}, which the record does not list"
                 for n in sorted(subjects) if n not in wanted]  # fmt: skip
    return problems


def _sums(directory: Path, listed: dict[str, dict[str, object]]) -> list[str]:
    """SHA256SUMS must agree with the record on every file it names."""
    sums = directory / SUMS_NAME
    if SUMS_NAME not in listed or not sums.is_file():
        return []  # a missing one is already a problem of its own
    problems = []
    for number, line in enumerate(sums.read_text(encoding="utf-8").splitlines(), start=1):
        digest, _, name = line.partition("  ")
        entry = listed.get(name)
        if entry is None:
            problems.append(f"{SUMS_NAME} line {number}: {name!r} is not in the record")
        elif entry.get("sha256") != digest:
            problems.append(f"{SUMS_NAME} line {number}: {name} {digest}, the record says "
                            f"{entry.get('sha256')}")  # fmt: skip
    return problems


def _image(directory: Path, image: dict[str, object]) -> tuple[list[str], list[str]]:
    """The image layout: its index is the record's, every blob it reaches holds what its
    digest says, each platform's manifest is the record's, and no other blob is there."""
    name = str(image.get("layout", ""))
    if Path(name).name != name or not name:
        return [], [f"image: the record names a layout outside the release ({name!r})"]
    store = Layout(directory / name)
    try:
        entries = store.entries()
    except GobuildError as exc:
        return [], [f"{name}: {exc}"]
    index = image.get("index")
    top = [e for e in entries if e.digest == index]
    if not top:
        shown = ", ".join(e.digest for e in entries) or "nothing"
        return [], [f"{name}/index.json: names {shown}, the record says {index}"]
    problems: list[str] = []
    reached: set[str] = set()
    try:
        for d in store.walk(top[0]):
            reached.add(d.hex)
            blob = store.blob(d.digest)
            if not blob.is_file():
                problems.append(f"{name}: blob {d.digest} missing")
            elif "sha256:" + sha256_file(blob) != d.digest or blob.stat().st_size != d.size:
                problems.append(
                    f"{name}: blob {d.digest} holds sha256:{sha256_file(blob)} "
                    f"({blob.stat().st_size} bytes, {d.size} expected)"
                )
        platforms = {
            _platform_key(m.platform): m.digest
            for m in (Descriptor.from_json(x) for x in store.read_json(top[0])["manifests"])
        }
    except (GobuildError, KeyError, TypeError) as exc:
        return [], [*problems, f"{name}: {exc}"]
    manifests = image.get("manifests")
    if platforms != manifests:
        problems.append(f"{name}: the index holds {platforms}, the record says {manifests}")
    blobs = store.root / "blobs" / "sha256"
    stray = sorted(p.name for p in blobs.iterdir()) if blobs.is_dir() else []
    problems += [f"{name}: blob sha256:{h} is not part of the image" for h in stray
                 if h not in reached]  # fmt: skip
    return ([f"{name} ({index})"] if not problems else []), problems


def _platform_key(platform: object) -> str:
    """``linux/arm/v7``: an OCI platform as the record names it."""
    p = platform if isinstance(platform, dict) else {}
    return "/".join(str(x) for x in (p.get("os"), p.get("architecture"), p.get("variant")) if x)
