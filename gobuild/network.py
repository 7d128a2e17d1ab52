"""The network as the environment describes it: proxies, CA certificates, credentials.

:class:`Network` is built once from the environment's variables
(:meth:`Network.from_variables`, called by ``project.environ.Environment.network``)
and handed to :class:`gobuild.fetch.Fetcher`. It answers, for one URL: which proxy
to go through (:meth:`~Network.proxy_for`), which CA certificates verify TLS
(:meth:`~Network.ca_locations`) and which credentials to send
(:meth:`~Network.credential_for`). It sends nothing itself.

The rules are the go command's, so one environment means the same to gobuild as to go:

- Proxies (golang.org/x/net/http/httpproxy): ``HTTPS_PROXY`` for https URLs,
  ``HTTP_PROXY`` for http URLs, each upper case first, then lower case, the first
  non-empty one winning; a value without a scheme means ``http://``. ``NO_PROXY`` is a
  comma list of host names (``example.com`` matches it and its subdomains,
  ``.example.com`` and ``*.example.com`` only subdomains), IP addresses, CIDR ranges,
  any of them with ``:port``, or ``*`` for everything. ``localhost`` and loopback
  addresses never go through a proxy, whatever NO_PROXY says (as in Go; curl differs).
- CA certificates: ``SSL_CERT_FILE`` (a bundle) and ``SSL_CERT_DIR`` (``:``-separated
  directories of ``<hash>.0`` names, as ``openssl rehash`` writes them) each replace
  the system's file or directory, as in OpenSSL and Go.
- Credentials: ``GOAUTH`` (``go help goauth``, Go 1.24; default ``netrc``) is a
  ``;``-separated list of ``off``, ``netrc`` (``NETRC``, else ``$HOME/.netrc``) and
  commands printing headers for URL prefixes. They apply to https URLs only, as in
  Go. ``git DIR`` entries are skipped: gobuild never runs git for credentials.
  User information in a URL (``https://user:token@host/``) is sent as Basic
  authorisation to that host (http or https) and takes precedence over GOAUTH.

A credential never appears in a message: every URL that can end up in one goes
through :func:`redact`, and free text (a library's error) through :func:`redact_text`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import unquote, urlsplit

from gobuild.errors import ConfigError, GobuildError, ProcessError, SourceError

if TYPE_CHECKING:
    import ipaddress

# ipaddress, netrc, base64, ssl and gobuild.proc are imported where first used: a
# no-op build imports gobuild.fetch, hence this module, and never needs them.

REDACTED = "xxxxx"
"""What a password (or a lone user name) is replaced with, as the go command prints it."""

# How long a GOAUTH command may take (Go sets no limit; a helper that waits for a
# prompt nobody answers would otherwise hang the build).
GOAUTH_TIMEOUT = 120.0

# Secrets shorter than this are not scrubbed from free text: replacing every "ab"
# would garble a message, and :func:`redact` already masks them inside URLs.
_MIN_SCRUBBED = 4

_DEFAULT_PORTS = {"http": "80", "https": "443", "socks5": "1080"}

# scheme://userinfo@ in free text; the userinfo runs to the authority's last '@'.
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<userinfo>[^/?#\s'\"<>\\]*)@")


# -- redaction ---------------------------------------------------------------------------


def _mask(userinfo: str) -> str:
    user, colon, _ = userinfo.partition(":")
    # With a password the user name is shown (as Go's URL.Redacted does); alone it is
    # often a token (https://TOKEN@host/), so it is masked too.
    return f"{user}:{REDACTED}" if colon else REDACTED


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with the user information of every URL in it masked, and each of
    ``secrets`` (of four characters or more) replaced by ``xxxxx``.

    The one redaction function: :func:`redact` is this function applied to a URL.
    """
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{_mask(m['userinfo'])}@", text)
    for secret in sorted({s for s in secrets if len(s) >= _MIN_SCRUBBED}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def redact(url: str) -> str:
    """``url`` fit for a message: ``https://user:token@host/p`` becomes
    ``https://user:xxxxx@host/p`` and ``https://token@host/p`` ``https://xxxxx@host/p``."""
    return redact_text(url)


class Userinfo(NamedTuple):
    """A URL without its user information, and that information (decoded)."""

    url: str
    user: str | None
    password: str | None


def split_userinfo(url: str) -> Userinfo:
    """``url`` without ``user:password@``, and the user and password it carried."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return Userinfo(url, None, None)
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, colon, password = userinfo.partition(":")
    bare = parts._replace(netloc=hostport).geturl()
    return Userinfo(bare, unquote(user), unquote(password) if colon else None)


def basic_auth(user: str, password: str | None) -> str:
    """The value of a Basic ``Authorization`` (or ``Proxy-Authorization``) header."""
    import base64  # noqa: PLC0415 - see the module note

    token = base64.b64encode(f"{user}:{password or ''}".encode()).decode("ascii")
    return f"Basic {token}"


# -- credentials -------------------------------------------------------------------------


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


def url_credential(user: str, password: str | None) -> Credential:
    """The credential a URL's user information stands for (Basic authorisation)."""
    secrets = (password,) if password is not None else (user,)
    return Credential((("Authorization", basic_auth(user, password)),), "the URL", secrets)


class _Entry(NamedTuple):
    kind: str  # "netrc", "git" or "command"
    argv: tuple[str, ...]


class _Store:
    """The credentials GOAUTH gave, by URL prefix (``host[:port][/path]``): mutable,
    because a 4xx runs the commands again; one per :class:`Network`, made with it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ran = False
        self.by_prefix: dict[str, Credential] = {}
        self.netrc_hosts: dict[str, Credential] | None = None
        self.problems: dict[str, str] = {}


# -- NO_PROXY ----------------------------------------------------------------------------


class _Matcher(NamedTuple):
    kind: str  # "all", "cidr", "ip" or "domain"
    value: str  # ".suffix" for a domain, the address for an IP
    port: str = ""
    match_host: bool = False  # a domain entry without a leading dot also matches itself
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    import ipaddress  # noqa: PLC0415 - see the module note

    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _split_host_port(text: str) -> tuple[str, str] | None:
    """Go's net.SplitHostPort: ``host:port`` or ``[v6]:port``; None without a port."""
    if text.startswith("["):
        end = text.find("]")
        if end < 0 or text[end + 1 : end + 2] != ":":
            return None
        return text[1:end], text[end + 2 :]
    if text.count(":") != 1:
        return None
    host, _, port = text.partition(":")
    return host, port


def _ascii_host(host: str) -> str:
    """``host`` in ASCII (IDNA), as httpproxy compares names; a leading dot is kept."""
    if host.isascii():
        return host
    dot = "." if host.startswith(".") else ""
    try:
        return dot + host.removeprefix(".").encode("idna").decode("ascii")
    except UnicodeError:
        return host


def _parse_no_proxy(value: str) -> tuple[_Matcher, ...]:
    """NO_PROXY's entries, parsed as httpproxy's config.init does (malformed ones ignored)."""
    import ipaddress  # noqa: PLC0415 - see the module note

    matchers: list[_Matcher] = []
    for raw in value.split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return (_Matcher("all", "*"),)
        if "/" in entry:
            try:
                net = ipaddress.ip_network(entry, strict=False)
            except ValueError:
                pass
            else:
                matchers.append(_Matcher("cidr", entry, network=net))
                continue
        split = _split_host_port(entry)
        host, port = split if split else (entry, "")
        if not host:
            continue
        if _ip(host) is not None:
            matchers.append(_Matcher("ip", str(_ip(host)), port))
            continue
        if host.startswith("*."):
            host = host[1:]
        match_host = not host.startswith(".")
        suffix = _ascii_host(host if host.startswith(".") else "." + host)
        matchers.append(_Matcher("domain", suffix, port, match_host))
    return tuple(matchers)


def _matches(m: _Matcher, host: str, port: str) -> bool:
    if m.kind == "all":
        return True
    ip = _ip(host)
    if m.kind == "cidr":
        return ip is not None and m.network is not None and ip in m.network
    if m.kind == "ip":
        return ip is not None and str(ip) == m.value and m.port in ("", port)
    hit = host.endswith(m.value) or (m.match_host and host == m.value[1:])
    return hit and m.port in ("", port)


# -- the network -------------------------------------------------------------------------


def _first(variables: Mapping[str, str], *names: str) -> str | None:
    for name in names:
        if variables.get(name):
            return variables[name]
    return None


def _netrc_path(variables: Mapping[str, str]) -> Path | None:
    explicit = variables.get("NETRC")
    if explicit:
        return Path(explicit)
    home = variables.get("HOME")
    return Path(home, ".netrc") if home else None


@dataclass(frozen=True)
class Network:
    """Proxies, CA certificates and credential sources (see the module's docstring).

    ``Network()`` is the plain network: no proxies, the system's CA certificates, no
    credentials (beyond those written into a URL).
    """

    http_proxy: str | None = None
    """HTTP_PROXY (or http_proxy): the proxy for http URLs."""
    https_proxy: str | None = None
    """HTTPS_PROXY (or https_proxy): the proxy for https URLs."""
    no_proxy: str = ""
    """NO_PROXY (or no_proxy): hosts reached directly."""
    ca_file: str | None = None
    """SSL_CERT_FILE: the CA bundle replacing the system's."""
    ca_dir: str | None = None
    """SSL_CERT_DIR: hashed CA directories (``:``-separated) replacing the system's."""
    netrc: Path | None = None
    """NETRC, else $HOME/.netrc (None: neither is known)."""
    goauth: str = "off"
    """GOAUTH as written (:meth:`from_variables` defaults it to ``netrc``, as Go does)."""
    environ: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)
    """The environment GOAUTH commands run in."""
    _store: _Store = field(default_factory=_Store, init=False, repr=False, compare=False)

    @classmethod
    def from_variables(cls, variables: Mapping[str, str]) -> Network:
        """The network ``variables`` (an environment) describe; nothing is read yet."""
        return cls(
            http_proxy=_first(variables, "HTTP_PROXY", "http_proxy"),
            https_proxy=_first(variables, "HTTPS_PROXY", "https_proxy"),
            no_proxy=_first(variables, "NO_PROXY", "no_proxy") or "",
            ca_file=variables.get("SSL_CERT_FILE") or None,
            ca_dir=variables.get("SSL_CERT_DIR") or None,
            netrc=_netrc_path(variables),
            goauth=variables.get("GOAUTH") or "netrc",
            environ=dict(variables),
        )

    def __repr__(self) -> str:
        # The dataclass's repr would show a proxy's password.
        proxies = [redact(p) if p else None for p in (self.http_proxy, self.https_proxy)]
        return (
            f"Network(http_proxy={proxies[0]!r}, https_proxy={proxies[1]!r}, "
            f"no_proxy={self.no_proxy!r}, ca_file={self.ca_file!r}, ca_dir={self.ca_dir!r}, "
            f"netrc={self.netrc!r}, goauth={redact_text(self.goauth)!r})"
        )

    # -- proxies ---------------------------------------------------------------------------

    @cached_property
    def _no_proxy(self) -> tuple[_Matcher, ...]:
        return _parse_no_proxy(self.no_proxy)

    def bypasses_proxy(self, url: str) -> bool:
        """Whether ``url``'s host is reached directly: localhost, a loopback address, or
        a NO_PROXY match (httpproxy's useProxy, negated)."""
        parts = urlsplit(url)
        host = _ascii_host((parts.hostname or "").strip())
        try:
            port = str(parts.port or _DEFAULT_PORTS.get(parts.scheme, ""))
        except ValueError:  # not a number: no NO_PROXY entry with a port matches it
            port = ""
        if host == "localhost":
            return True
        ip = _ip(host)
        if ip is not None and ip.is_loopback:
            return True
        return any(_matches(m, host, port) for m in self._no_proxy)

    def proxy_for(self, url: str) -> str | None:
        """The proxy URL (user information included) to reach ``url`` through, or None.

        Raises SourceError for a proxy setting gobuild cannot use (a SOCKS proxy, a
        value that is no URL), naming the variable and never the password.
        """
        scheme = urlsplit(url).scheme
        if scheme == "https":
            value, name = self.https_proxy, "HTTPS_PROXY"
        elif scheme == "http":
            value, name = self.http_proxy, "HTTP_PROXY"
        else:
            return None
        if not value or self.bypasses_proxy(url):
            return None
        return _proxy_url(name, value)

    # -- TLS -------------------------------------------------------------------------------

    def ca_locations(self) -> tuple[str | None, str | None]:
        """The CA bundle and directory that verify TLS: SSL_CERT_FILE and SSL_CERT_DIR,
        each else OpenSSL's built-in default (where it exists).

        The defaults are OpenSSL's compiled-in paths, not what OpenSSL would read from
        the process's environment: gobuild reads its environment once, into this value.
        """
        import ssl  # noqa: PLC0415 - see the module note

        defaults = ssl.get_default_verify_paths()
        ca_file = self.ca_file
        if ca_file is None and defaults.openssl_cafile and Path(defaults.openssl_cafile).is_file():
            ca_file = defaults.openssl_cafile
        ca_dir = self.ca_dir
        if ca_dir is None and defaults.openssl_capath and Path(defaults.openssl_capath).is_dir():
            ca_dir = defaults.openssl_capath
        return ca_file, ca_dir

    def ca_description(self) -> str:
        """Which CA certificates verify TLS, for a message."""
        if self.ca_file is None and self.ca_dir is None:
            return "the system's CA certificates; set SSL_CERT_FILE or SSL_CERT_DIR for another CA"
        bundle = f"SSL_CERT_FILE={self.ca_file}" if self.ca_file else "the system's CA file"
        directory = f"SSL_CERT_DIR={self.ca_dir}" if self.ca_dir else "the system's CA directory"
        return f"{bundle} and {directory}"

    # -- credentials -----------------------------------------------------------------------

    def credential_for(self, url: str) -> Credential | None:
        """What authenticates a request for ``url``: the URL's own user information,
        else (https only) the GOAUTH credential for its longest matching prefix, else
        a netrc entry for its host name whatever the port. None: send nothing.

        The first call for an https URL runs GOAUTH's commands (without arguments) and
        reads the netrc file; later calls use what they gave.
        """
        bare, user, password = split_userinfo(url)
        if user is not None:
            return url_credential(user, password)
        if urlsplit(bare).scheme != "https":
            return None
        entries = self._entries()
        if not entries:
            return None
        with self._store.lock:
            if not self._store.ran:
                self._run(entries, None, None)
                self._store.ran = True
            return self._lookup(bare)

    def reauthenticate(self, url: str, response: str) -> bool:
        """After a 4xx for ``url``: run GOAUTH's commands again with the URL as an
        argument and ``response`` (status line and headers) on their input, as the go
        command does. True when there was a command to run, so a retry may succeed."""
        entries = self._entries()
        if not any(e.kind == "command" for e in entries):
            return False
        bare = split_userinfo(url).url
        with self._store.lock:
            self._run(entries, bare, response)
            self._store.ran = True
        return True

    def why_no_credential(self, url: str) -> str:
        """Why :meth:`credential_for` found nothing for ``url``, for a message."""
        if urlsplit(url).scheme != "https":
            return "netrc and GOAUTH credentials are sent over https only"
        entries = self._entries()
        if not entries:
            return "GOAUTH=off"
        host = urlsplit(url).hostname or ""
        reasons = []
        if any(e.kind == "netrc" for e in entries):
            where = str(self.netrc) if self.netrc else "no NETRC or HOME"
            reasons.append(f"no netrc entry for {host} ({where})")
        if any(e.kind == "command" for e in entries):
            reasons.append("no GOAUTH command gave credentials for it")
        if any(e.kind == "git" for e in entries):
            reasons.append("GOAUTH 'git' entries are not supported by gobuild")
        with self._store.lock:
            reasons += self._store.problems.values()
        return "; ".join(reasons)

    def _entries(self) -> tuple[_Entry, ...]:
        """GOAUTH's list, checked as the go command checks it."""
        return _parse_goauth(self.goauth)

    def _lookup(self, url: str) -> Credential | None:
        parts = urlsplit(url)
        host = parts.netloc.lower().removesuffix(":443")
        prefix = (host + parts.path).rstrip("/")
        while True:
            found = self._store.by_prefix.get(prefix)
            if found is not None:
                return found
            if "/" not in prefix:
                break
            prefix = prefix.rpartition("/")[0]
        # curl's rule (and Go's before 1.24): a netrc machine is a host name, any port.
        if self._store.netrc_hosts is not None:
            return self._store.netrc_hosts.get(parts.hostname or "")
        return None

    def _run(self, entries: tuple[_Entry, ...], url: str | None, response: str | None) -> None:
        # In reverse, so that for one prefix the earlier entry's credentials win.
        for entry in reversed(entries):
            if entry.kind == "netrc":
                hosts = self._netrc_hosts()
                self._store.by_prefix.update(hosts)
            elif entry.kind == "command":
                for prefix, cred in self._command(entry.argv, url, response).items():
                    if cred.headers:
                        self._store.by_prefix[prefix] = cred
                    else:
                        self._store.by_prefix.pop(prefix, None)

    def _netrc_hosts(self) -> dict[str, Credential]:
        if self._store.netrc_hosts is None:
            self._store.netrc_hosts = _read_netrc(self.netrc)
        return self._store.netrc_hosts

    def _command(
        self, argv: tuple[str, ...], url: str | None, response: str | None
    ) -> dict[str, Credential]:
        from gobuild import proc  # noqa: PLC0415 - see the module note

        shown = f"GOAUTH command {Path(argv[0]).name!r}"
        args = [*argv, url] if url else list(argv)
        try:
            result = proc.run(
                args,
                env=self.environ,
                timeout=GOAUTH_TIMEOUT,
                check=False,
                input_text=response or "",
            )
        except ProcessError:
            # Its message would carry the command's output: credentials.
            self._store.problems[shown] = f"{shown} did not finish in {GOAUTH_TIMEOUT:.0f} s"
            return {}
        except GobuildError as exc:  # not found, not executable: names the program only
            self._store.problems[shown] = f"{shown}: {exc}"
            return {}
        if result.returncode != 0:
            # stderr stays out of the message: a helper may echo what it read.
            self._store.problems[shown] = f"{shown} failed with exit code {result.returncode}"
            return {}
        try:
            found = parse_goauth_output(result.stdout, shown)
        except SourceError as exc:
            self._store.problems[shown] = str(exc)
            return {}
        self._store.problems.pop(shown, None)
        return found


def _proxy_url(name: str, value: str) -> str:
    """A proxy setting as a URL, as httpproxy's parseProxy reads it: without a scheme,
    ``http://`` is meant (``proxy.corp:3128``, ``localhost``)."""
    candidate = value if "://" in value else f"http://{value}"
    try:
        parts = urlsplit(candidate)
        _ = parts.port  # raises ValueError for a port that is no number
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https", "socks5") or not parts.hostname:
        raise SourceError(f"{name}={redact(value)}: not an http or https proxy URL")
    if parts.scheme == "socks5":
        raise SourceError(f"{name}={redact(value)}: SOCKS proxies are not supported")
    return candidate


def _split_quoted(command: str) -> list[str]:
    """Words of a GOAUTH command: space-separated, '…' and "…" quote (cmd/internal/quoted)."""
    words: list[str] = []
    rest = command
    while rest := rest.lstrip(" \t\n\r"):
        if rest[0] in "'\"":
            end = rest.find(rest[0], 1)
            if end < 0:
                raise ConfigError(f"GOAUTH: unterminated {rest[0]} string in a command")
            words.append(rest[1:end])
            rest = rest[end + 1 :]
            continue
        match = re.search(r"[ \t\n\r]", rest)
        end = match.start() if match else len(rest)
        words.append(rest[:end])
        rest = rest[end:]
    return words


def _parse_goauth(value: str) -> tuple[_Entry, ...]:
    """GOAUTH's entries; ``off`` gives none. ConfigError as the go command would fail."""
    parts = value.split(";")
    entries: list[_Entry] = []
    for part in parts:
        words = part.split()
        if not words:
            raise ConfigError("GOAUTH: an empty entry (GOAUTH is a ;-separated list)")
        if words[0] == "off":
            if len(parts) != 1:
                raise ConfigError("GOAUTH: 'off' cannot be combined with other entries")
            return ()
        if words[0] == "netrc":
            entries.append(_Entry("netrc", ()))
        elif words[0] == "git":
            entries.append(_Entry("git", tuple(words[1:])))
        else:
            entries.append(_Entry("command", tuple(_split_quoted(part))))
    return tuple(entries)


_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


def parse_goauth_output(text: str, shown: str = "GOAUTH command") -> dict[str, Credential]:
    """A GOAUTH command's output (``go help goauth``): credential sets of https URL
    lines, a blank line, header lines, a blank line. Returns credentials by prefix
    (``host[:port][/path]``); an empty header set removes a prefix's credentials.

    Raises SourceError naming what is wrong, never a header's value.
    """
    found: dict[str, Credential] = {}

    def bad(what: str) -> SourceError:
        return SourceError(f"cannot parse the output of {shown}: {what}")

    # As the go command reads it (strings.Cut line by line): every line, the last
    # blank one included, ends with a newline.
    data = text
    while data:
        prefixes: list[str] = []
        while True:
            line, newline, data = data.partition("\n")
            if not newline:
                raise bad("missing empty line after URLs")
            if not line:
                break
            parts = urlsplit(line)
            if parts.scheme != "https" or not parts.netloc or "@" in parts.netloc:
                raise bad(f"not an https URL without user information: {redact(line)}")
            host = parts.netloc.lower().removesuffix(":443")
            prefixes.append((host + parts.path).rstrip("/"))
        headers: list[tuple[str, str]] = []
        while True:
            line, newline, data = data.partition("\n")
            if not newline:
                raise bad("missing empty line after headers")
            if not line:
                break
            name, sep, value = line.partition(": ")
            value = value.strip()
            if not sep or not _HEADER_NAME.match(name) or any(c in value for c in "\r\n\0"):
                raise bad("invalid header line")
            headers.append((name, value))
        for prefix in prefixes:
            found[prefix] = Credential(tuple(headers), shown)
    return found


def _read_netrc(path: Path | None) -> dict[str, Credential]:
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
