"""Proxies as golang.org/x/net/http/httpproxy reads them: the setting, and NO_PROXY.

``HTTPS_PROXY`` is for https URLs, ``HTTP_PROXY`` for http URLs, each upper case
first, then lower case, the first non-empty one winning; a value without a scheme
means ``http://`` (:func:`proxy_url`). ``NO_PROXY`` is a comma list of host names
(``example.com`` matches it and its subdomains, ``.example.com`` and
``*.example.com`` only subdomains), IP addresses, CIDR ranges, any of them with
``:port``, or ``*`` for everything (:func:`parse_no_proxy`). ``localhost`` and
loopback addresses never go through a proxy, whatever NO_PROXY says (as in Go; curl
differs; :func:`bypasses`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import urlsplit

from gobuild.errors import SourceError
from gobuild.network.redact import redact

if TYPE_CHECKING:
    import ipaddress

# ipaddress is imported where first used: a no-op build, which sends no request,
# never needs it.

_DEFAULT_PORTS = {"http": "80", "https": "443", "socks5": "1080"}


class Matcher(NamedTuple):
    """One NO_PROXY entry, parsed."""

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


def parse_no_proxy(value: str) -> tuple[Matcher, ...]:
    """NO_PROXY's entries, parsed as httpproxy's config.init does (malformed ones ignored)."""
    import ipaddress  # noqa: PLC0415 - see the module note

    matchers: list[Matcher] = []
    for raw in value.split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return (Matcher("all", "*"),)
        if "/" in entry:
            try:
                net = ipaddress.ip_network(entry, strict=False)
            except ValueError:
                pass
            else:
                matchers.append(Matcher("cidr", entry, network=net))
                continue
        split = _split_host_port(entry)
        host, port = split if split else (entry, "")
        if not host:
            continue
        if _ip(host) is not None:
            matchers.append(Matcher("ip", str(_ip(host)), port))
            continue
        if host.startswith("*."):
            host = host[1:]
        match_host = not host.startswith(".")
        suffix = _ascii_host(host if host.startswith(".") else "." + host)
        matchers.append(Matcher("domain", suffix, port, match_host))
    return tuple(matchers)


def _matches(m: Matcher, host: str, port: str) -> bool:
    if m.kind == "all":
        return True
    ip = _ip(host)
    if m.kind == "cidr":
        return ip is not None and m.network is not None and ip in m.network
    if m.kind == "ip":
        return ip is not None and str(ip) == m.value and m.port in ("", port)
    hit = host.endswith(m.value) or (m.match_host and host == m.value[1:])
    return hit and m.port in ("", port)


def bypasses(url: str, no_proxy: tuple[Matcher, ...]) -> bool:
    """Whether ``url``'s host is reached directly: localhost, a loopback address, or
    a ``no_proxy`` match (httpproxy's useProxy, negated)."""
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
    return any(_matches(m, host, port) for m in no_proxy)


def proxy_url(name: str, value: str) -> str:
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
