"""How a URL or a message is shown: without the credentials it carries.

A credential never appears in a message: every URL that can end up in one goes
through :func:`redact`, and free text (a library's error) through :func:`redact_text`.
:func:`split_userinfo` takes a URL's user information out, to be sent as a header
rather than inside the URL.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

REDACTED = "xxxxx"
"""What a password (or a lone user name) is replaced with, as the go command prints it."""

# Secrets shorter than this are not scrubbed from free text: replacing every "ab"
# would garble a message, and :func:`redact` already masks them inside URLs.
_MIN_SCRUBBED = 4

# scheme://userinfo@ in free text; the userinfo runs to the authority's last '@'.
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<userinfo>[^/?#\s'\"<>\\]*)@")


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
