"""The credentials GOAUTH gave, by URL prefix: its entries run, and a URL looked up.

The first https request runs GOAUTH's entries (the netrc file read, each command run
without arguments); a 4xx runs the commands again with the URL as an argument and the
response on their input, as the go command does. A URL's credential is the one of its
longest matching prefix (``host[:port][/path]``), else a netrc entry for its host
name whatever the port. A command's failure is kept as a reason, never its output:
a helper may echo what it read.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from gobuild.errors import GobuildError, ProcessError, SourceError
from gobuild.network.credentials import Credential, read_netrc
from gobuild.network.goauth import GoauthEntry, parse_goauth_output

# gobuild.proc is imported where first used: a no-op build, which sends no request,
# never needs it.

# How long a GOAUTH command may take (Go sets no limit; a helper that waits for a
# prompt nobody answers would otherwise hang the build).
GOAUTH_TIMEOUT = 120.0


class CredentialStore:
    """The credentials GOAUTH gave, by URL prefix (``host[:port][/path]``): mutable,
    because a 4xx runs the commands again; one per
    :class:`~gobuild.network.config.Network`, made with it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ran = False
        self.by_prefix: dict[str, Credential] = {}
        self.netrc_hosts: dict[str, Credential] | None = None
        self.problems: dict[str, str] = {}

    def lookup(self, url: str) -> Credential | None:
        """The credential for ``url`` among those the entries gave (None: none)."""
        parts = urlsplit(url)
        host = parts.netloc.lower().removesuffix(":443")
        prefix = (host + parts.path).rstrip("/")
        while True:
            found = self.by_prefix.get(prefix)
            if found is not None:
                return found
            if "/" not in prefix:
                break
            prefix = prefix.rpartition("/")[0]
        # curl's rule (and Go's before 1.24): a netrc machine is a host name, any port.
        if self.netrc_hosts is not None:
            return self.netrc_hosts.get(parts.hostname or "")
        return None

    def run(
        self,
        entries: tuple[GoauthEntry, ...],
        url: str | None,
        response: str | None,
        netrc: Path | None,
        environ: Mapping[str, str],
    ) -> None:
        """Run ``entries``: read the ``netrc`` file (once), and run each command in
        ``environ`` (with ``url`` as an argument and ``response`` on its input)."""
        # In reverse, so that for one prefix the earlier entry's credentials win.
        for entry in reversed(entries):
            if entry.kind == "netrc":
                hosts = self._netrc_hosts(netrc)
                self.by_prefix.update(hosts)
            elif entry.kind == "command":
                for prefix, cred in self._command(entry.argv, url, response, environ).items():
                    if cred.headers:
                        self.by_prefix[prefix] = cred
                    else:
                        self.by_prefix.pop(prefix, None)

    def _netrc_hosts(self, netrc: Path | None) -> dict[str, Credential]:
        if self.netrc_hosts is None:
            self.netrc_hosts = read_netrc(netrc)
        return self.netrc_hosts

    def _command(
        self,
        argv: tuple[str, ...],
        url: str | None,
        response: str | None,
        environ: Mapping[str, str],
    ) -> dict[str, Credential]:
        from gobuild import proc  # noqa: PLC0415 - see the module note

        shown = f"GOAUTH command {Path(argv[0]).name!r}"
        args = [*argv, url] if url else list(argv)
        try:
            result = proc.run(
                args,
                env=environ,
                timeout=GOAUTH_TIMEOUT,
                check=False,
                input_text=response or "",
            )
        except ProcessError:
            # Its message would carry the command's output: credentials.
            self.problems[shown] = f"{shown} did not finish in {GOAUTH_TIMEOUT:.0f} s"
            return {}
        except GobuildError as exc:  # not found, not executable: names the program only
            self.problems[shown] = f"{shown}: {exc}"
            return {}
        if result.returncode != 0:
            # stderr stays out of the message: a helper may echo what it read.
            self.problems[shown] = f"{shown} failed with exit code {result.returncode}"
            return {}
        try:
            found = parse_goauth_output(result.stdout, shown)
        except SourceError as exc:
            self.problems[shown] = str(exc)
            return {}
        self.problems.pop(shown, None)
        return found
