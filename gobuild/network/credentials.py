"""What authenticates a request: headers, and where they came from.

User information in a URL (``https://user:token@host/``) is sent as Basic
authorisation to that host (http or https; :func:`url_credential`). A netrc file
(``NETRC``, else ``$HOME/.netrc``; :func:`netrc_path`) gives Basic authorisation for
the hosts it names (:func:`read_netrc`), as GOAUTH's ``netrc`` entry
(:mod:`gobuild.network.goauth`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gobuild.errors import ConfigError

# netrc and base64 are imported where first used: a no-op build, which sends no
# request, never needs them.


@dataclass(frozen=True)
class Credential:
    """Headers that authenticate requests, and where they came from (never the secret)."""

    headers: tuple[tuple[str, str], ...] = field(repr=False)
    source: str
    """For messages: ``netrc (/home/me/.netrc)``, ``GOAUTH command 'helper'``, ``the URL``."""
    secrets: tuple[str, ...] = field(default=(), repr=False)
    """Strings to scrub from any text that might echo them (beyond the headers' values)."""

    def all_secrets(self) -> tuple[str, ...]:
        """The header values and :attr:`secrets`."""
        return tuple(v for _, v in self.headers) + self.secrets


def basic_auth(user: str, password: str | None) -> str:
    """The value of a Basic ``Authorization`` (or ``Proxy-Authorization``) header."""
    import base64  # noqa: PLC0415 - see the module note

    token = base64.b64encode(f"{user}:{password or ''}".encode()).decode("ascii")
    return f"Basic {token}"


def url_credential(user: str, password: str | None) -> Credential:
    """The credential a URL's user information stands for (Basic authorisation)."""
    secrets = (password,) if password is not None else (user,)
    return Credential((("Authorization", basic_auth(user, password)),), "the URL", secrets)


def netrc_path(variables: Mapping[str, str]) -> Path | None:
    """NETRC, else $HOME/.netrc; None when neither is known."""
    explicit = variables.get("NETRC")
    if explicit:
        return Path(explicit)
    home = variables.get("HOME")
    return Path(home, ".netrc") if home else None


def read_netrc(path: Path | None) -> dict[str, Credential]:
    """The netrc file's machines with a login and a password, by host (missing: none)."""
    import netrc  # noqa: PLC0415 - see the module note

    if path is None:
        return {}
    source = f"netrc ({path})"
    problem = None
    try:
        parsed = netrc.netrc(str(path))
    except FileNotFoundError:
        return {}
    except netrc.NetrcParseError as exc:
        # Its message may quote a token of the file (a password): only the line is kept,
        # and the error is raised outside this block so that it is no exception's context.
        problem = f"{path}, line {exc.lineno}: malformed netrc file (GOAUTH=off skips it)"
    except OSError as exc:
        problem = f"{path}: cannot read the netrc file: {exc.strerror}"
    if problem is not None:
        raise ConfigError(problem)
    hosts: dict[str, Credential] = {}
    for machine, (login, _, password) in parsed.hosts.items():
        # Go ignores 'default' (it would send credentials to every host).
        if machine == "default" or not login or not password:
            continue
        header = (("Authorization", basic_auth(login, password)),)
        hosts[machine.lower().removesuffix(":443")] = Credential(header, source, (password,))
    return hosts
