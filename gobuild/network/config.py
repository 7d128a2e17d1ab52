"""The network as the environment's variables describe it, for one URL at a time.

:class:`Network` is built once from the environment's variables
(:meth:`Network.from_variables`, called by ``project.environ.Environment.network``)
and handed to :class:`gobuild.fetch.Fetcher`. It answers, for one URL: which proxy
to go through (:meth:`~Network.proxy_for`, :mod:`gobuild.network.proxies`' rules),
which CA certificates verify TLS (:meth:`~Network.ca_locations`) and which
credentials to send (:meth:`~Network.credential_for`: the URL's own, else GOAUTH's,
:mod:`gobuild.network.credentials`, :mod:`gobuild.network.goauth`). It sends nothing
itself.

CA certificates: ``SSL_CERT_FILE`` (a bundle) and ``SSL_CERT_DIR`` (``:``-separated
directories of ``<hash>.0`` names, as ``openssl rehash`` writes them) each replace the
system's file or directory, as in OpenSSL and Go.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from urllib.parse import urlsplit

from gobuild.network.authstore import CredentialStore
from gobuild.network.credentials import Credential, netrc_path, url_credential
from gobuild.network.goauth import GoauthEntry, parse_goauth
from gobuild.network.proxies import Matcher, bypasses, parse_no_proxy, proxy_url
from gobuild.network.redact import redact, redact_text, split_userinfo

# ssl is imported where first used: a no-op build, which sends no request, never
# needs it.


def _first(variables: Mapping[str, str], *names: str) -> str | None:
    for name in names:
        if variables.get(name):
            return variables[name]
    return None


@dataclass(frozen=True)
class Network:
    """Proxies, CA certificates and credential sources (see the room's docstring).

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
    _store: CredentialStore = field(
        default_factory=CredentialStore, init=False, repr=False, compare=False
    )

    @classmethod
    def from_variables(cls, variables: Mapping[str, str]) -> Network:
        """The network ``variables`` (an environment) describe; nothing is read yet."""
        return cls(
            http_proxy=_first(variables, "HTTP_PROXY", "http_proxy"),
            https_proxy=_first(variables, "HTTPS_PROXY", "https_proxy"),
            no_proxy=_first(variables, "NO_PROXY", "no_proxy") or "",
            ca_file=variables.get("SSL_CERT_FILE") or None,
            ca_dir=variables.get("SSL_CERT_DIR") or None,
            netrc=netrc_path(variables),
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
    def _no_proxy(self) -> tuple[Matcher, ...]:
        return parse_no_proxy(self.no_proxy)

    def bypasses_proxy(self, url: str) -> bool:
        """Whether ``url``'s host is reached directly: localhost, a loopback address, or
        a NO_PROXY match (httpproxy's useProxy, negated)."""
        return bypasses(url, self._no_proxy)

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
        return proxy_url(name, value)

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
                self._store.run(entries, None, None, self.netrc, self.environ)
                self._store.ran = True
            return self._store.lookup(bare)

    def reauthenticate(self, url: str, response: str) -> bool:
        """After a 4xx for ``url``: run GOAUTH's commands again with the URL as an
        argument and ``response`` (status line and headers) on their input, as the go
        command does. True when there was a command to run, so a retry may succeed."""
        entries = self._entries()
        if not any(e.kind == "command" for e in entries):
            return False
        bare = split_userinfo(url).url
        with self._store.lock:
            self._store.run(entries, bare, response, self.netrc, self.environ)
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

    def _entries(self) -> tuple[GoauthEntry, ...]:
        """GOAUTH's list, checked as the go command checks it."""
        return parse_goauth(self.goauth)
