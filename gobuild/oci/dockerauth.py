"""Registry credentials, from where container tools keep them; never shown.

In order, for a registry host:
1. ``GOBUILD_REGISTRY_USERNAME`` and ``GOBUILD_REGISTRY_PASSWORD`` (for CI secrets),
   used for every registry gobuild speaks to;
2. ``REGISTRY_AUTH_FILE`` (podman, skopeo and buildah's auth file: the same ``auths``
   shape);
3. the Docker config, ``$DOCKER_CONFIG/config.json`` else ``$HOME/.docker/config.json``:
   the host's credential helper (``credHelpers``), else its ``auths`` entry, else the
   store every host shares (``credsStore``). A helper is run as the docker client runs
   it: ``docker-credential-NAME get``, the server on standard input.

Nothing found is no error: a public registry answers anonymous requests.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gobuild import proc
from gobuild.errors import ConfigError, ProcessError
from gobuild.network.credentials import Credential, basic_auth
from gobuild.oci.reference import DOCKER_HUB, DOCKER_HUB_CONFIG_KEY

USER_VARIABLE = "GOBUILD_REGISTRY_USERNAME"
PASSWORD_VARIABLE = "GOBUILD_REGISTRY_PASSWORD"  # noqa: S105 - a variable's name


def credential_for(registry: str, variables: Mapping[str, str]) -> Credential | None:
    """The Basic credential for ``registry`` (``HOST[:PORT]``, ``docker.io``), or None."""
    user, password = variables.get(USER_VARIABLE), variables.get(PASSWORD_VARIABLE)
    if user and password:
        return _basic(user, password, f"{USER_VARIABLE}/{PASSWORD_VARIABLE}")
    auth_file = variables.get("REGISTRY_AUTH_FILE")
    if auth_file:
        found = _from_auths(_read(Path(auth_file)), registry, f"REGISTRY_AUTH_FILE ({auth_file})")
        if found is not None:
            return found
    config_path = _docker_config(variables)
    if config_path is None or not config_path.is_file():
        return None
    return _from_docker_config(config_path, registry, variables)


def _from_docker_config(
    path: Path, registry: str, variables: Mapping[str, str]
) -> Credential | None:
    config = _read(path)
    keys = _keys(registry)
    helpers = config.get("credHelpers") or {}
    for key in keys:
        if isinstance(helpers, dict) and helpers.get(key):
            return _from_helper(str(helpers[key]), key, variables)
    found = _from_auths(config, registry, f"Docker config ({path})")
    store = config.get("credsStore")
    if found is None and store:
        return _from_helper(str(store), keys[0], variables)
    return found


def _docker_config(variables: Mapping[str, str]) -> Path | None:
    directory = variables.get("DOCKER_CONFIG")
    if directory:
        return Path(directory, "config.json")
    home = variables.get("HOME")
    return Path(home, ".docker", "config.json") if home else None


def _keys(registry: str) -> list[str]:
    """The names a config may file ``registry``'s entry under."""
    if registry == DOCKER_HUB:
        return [DOCKER_HUB_CONFIG_KEY, "docker.io", "index.docker.io", "registry-1.docker.io"]
    return [registry, f"https://{registry}", f"http://{registry}", f"https://{registry}/v1/"]


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read registry credentials: {exc.strerror}") from None
    except ValueError as exc:
        raise ConfigError(f"{path}: not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: not a JSON object")
    return data


def _from_auths(config: Mapping[str, Any], registry: str, shown: str) -> Credential | None:
    import base64  # noqa: PLC0415 - only when credentials are looked up
    import binascii  # noqa: PLC0415

    auths = config.get("auths") or {}
    if not isinstance(auths, dict):
        return None
    for key in _keys(registry):
        entry = auths.get(key)
        if not isinstance(entry, dict):
            continue
        if entry.get("identitytoken"):
            raise ConfigError(
                f"{shown}: {key} holds an identity token (OAuth2 refresh), which gobuild "
                f"cannot use: set {USER_VARIABLE} and {PASSWORD_VARIABLE} instead"
            )
        if entry.get("username") and entry.get("password"):
            return _basic(str(entry["username"]), str(entry["password"]), shown)
        if entry.get("auth"):
            try:
                user, sep, password = base64.b64decode(str(entry["auth"])).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                sep = ""
            if not sep:
                raise ConfigError(f"{shown}: the auth of {key} is not base64 of user:password")
            return _basic(user, password, shown)
    return None


def _from_helper(helper: str, server: str, variables: Mapping[str, str]) -> Credential | None:
    argv = [f"docker-credential-{helper}", "get"]
    try:
        res = proc.run(argv, env=dict(variables), input_text=server, check=False, timeout=60)
    except ProcessError:
        raise ConfigError(f"credential helper {argv[0]} did not answer in 60 s") from None
    if res.returncode != 0:
        # A helper that knows nothing of the server says so and exits 1: anonymous.
        if "credentials not found" in (res.stdout + res.stderr).lower():
            return None
        raise ConfigError(f"credential helper {argv[0]} failed with exit code {res.returncode}")
    try:
        answer = json.loads(res.stdout)
        user, secret = str(answer["Username"]), str(answer["Secret"])
    except (ValueError, KeyError, TypeError):
        raise ConfigError(f"credential helper {argv[0]} gave no Username and Secret") from None
    if user == "<token>":
        raise ConfigError(
            f"credential helper {argv[0]} gave an identity token, which gobuild cannot use: "
            f"set {USER_VARIABLE} and {PASSWORD_VARIABLE} instead"
        )
    return _basic(user, secret, f"credential helper {argv[0]}")


def _basic(user: str, password: str, source: str) -> Credential:
    return Credential((("Authorization", basic_auth(user, password)),), source, (password,))
