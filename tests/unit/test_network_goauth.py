"""gobuild.network.goauth and .authstore: GOAUTH's list, its commands (run as the go
command runs them, cmd/go's auth package) and their output."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from gobuild.errors import ConfigError, SourceError
from gobuild.network.config import Network
from gobuild.network.goauth import parse_goauth_output

# -- GOAUTH ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("goauth", "message"),
    [
        ("off;netrc", "'off' cannot be combined"),
        ("netrc;", "an empty entry"),
        ("netrc; ;x", "an empty entry"),
        ("cmd 'unterminated", "unterminated ' string"),
    ],
)
def test_malformed_goauth(goauth: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Network.from_variables({"GOAUTH": goauth}).credential_for("https://a.example/")


def test_goauth_git_entries_are_skipped_and_said_so(tmp_path: Path) -> None:
    net = Network.from_variables({"GOAUTH": f"git {tmp_path}"})
    assert net.credential_for("https://a.example/") is None
    assert "'git' entries are not supported" in net.why_no_credential("https://a.example/")


def test_goauth_command_arguments_are_quoted_words(tmp_path: Path) -> None:
    log = tmp_path / "args"
    script = tmp_path / "helper"
    script.write_text(f'#!/bin/sh\nfor a in "$@"; do echo "[$a]"; done > {log}\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    net = Network.from_variables({"GOAUTH": f"{script} 'two words' \"x y\"  plain"})
    assert net.credential_for("https://a.example/") is None
    assert log.read_text().splitlines() == ["[two words]", "[x y]", "[plain]"]


def test_goauth_command_runs_with_the_given_environment(tmp_path: Path) -> None:
    script = tmp_path / "helper"
    script.write_text(
        "#!/bin/sh\nprintf 'https://a.example\\n\\nAuthorization: Bearer %s\\n\\n' \"$TOKEN\"\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    net = Network.from_variables({"GOAUTH": str(script), "TOKEN": "from-the-env"})
    cred = net.credential_for("https://a.example/mod/@v/list")
    assert cred is not None
    assert dict(cred.headers) == {"Authorization": "Bearer from-the-env"}
    assert cred.source == "GOAUTH command 'helper'"


def test_parse_goauth_output() -> None:
    # `go help goauth`'s example.
    text = (
        "https://example.com\nhttps://example.net/api/\n\nAuthorization: Basic <token>\n\n"
        "https://another-example.org/\n\nExample: Data\n\n"
    )
    found = parse_goauth_output(text)
    assert set(found) == {"example.com", "example.net/api", "another-example.org"}
    assert found["example.net/api"].headers == (("Authorization", "Basic <token>"),)
    assert found["another-example.org"].headers == (("Example", "Data"),)
    assert parse_goauth_output("") == {}
    # An empty header set: the prefix's credentials are removed.
    assert parse_goauth_output("https://a.example\n\n\n")["a.example"].headers == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("https://a.example\n\nAuthorization: x\n", "missing empty line after headers"),
        ("https://a.example\n", "missing empty line after URLs"),
        ("http://a.example\n\nA: b\n\n", "not an https URL"),
        ("https://u:tok-secret@a.example\n\nA: b\n\n", "not an https URL"),
        ("https://a.example\n\nno colon here\n\n", "invalid header line"),
        ("https://a.example\n\nBad Name: secret-value\n\n", "invalid header line"),
    ],
)
def test_parse_goauth_output_errors(text: str, message: str) -> None:
    with pytest.raises(SourceError, match=message) as caught:
        parse_goauth_output(text)
    assert "secret" not in str(caught.value)
