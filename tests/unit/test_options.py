"""The options both front ends take: declared once, parsed once, the same errors."""

from __future__ import annotations

import argparse
import re

import pytest

from gobuild.errors import GobuildError
from gobuild.ui import options

ALL = [options.PROFILE, options.CPUS, options.MEMORY, options.ENFORCEMENT]


@pytest.mark.parametrize("option", ALL, ids=lambda o: o.name)
def test_help_survives_both_front_ends_formatting(option: options.Option[object]) -> None:
    parser = argparse.ArgumentParser()
    option.add_to(parser)
    assert option.help.split("(")[0].strip() in " ".join(parser.format_help().split())
    param = option.doit_param()
    # doit formats each parameter's help with %(default)s, as argparse does.
    assert param["help"] % {"default": param["default"]} == option.help
    assert (param["name"], param["long"], param["default"]) == (option.name, option.name, "")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0", "--cpus: 0 is not a CPU count"),
        ("-1", "--cpus: -1 is not a CPU count"),
        ("nan", "--cpus: nan is not a CPU count"),
        ("inf", "--cpus: inf is not a CPU count"),
        ("1e9", "--cpus: 1e+09 is not a CPU count"),
        ("4096.5", "--cpus: 4096.5 is not a CPU count"),
        ("two", "--cpus: 'two' is not a number of CPUs"),
    ],
)
def test_bad_cpus_are_one_line_errors(text: str, message: str) -> None:
    with pytest.raises(GobuildError, match="^" + re.escape(message)) as caught:
        options.CPUS.value(text)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0", "--memory: '0': a memory size must be positive"),
        ("0%", "--memory: '0%': a percentage of the host's memory is 1-100%"),
        ("101%", "--memory: '101%': a percentage"),
        ("3 parsecs", "--memory: '3 parsecs' is not a size"),
        ("", None),
    ],
)
def test_bad_memory_is_a_one_line_error(text: str, message: str | None) -> None:
    if message is None:
        assert options.MEMORY.value(text) is None  # not given
        return
    with pytest.raises(GobuildError) as caught:
        options.MEMORY.value(text)
    assert str(caught.value).startswith(message)


def test_good_values_parse_once_into_values() -> None:
    assert options.CPUS.value("0.5") == 0.5
    assert options.CPUS.value(None) is None
    memory = options.MEMORY.value("50%")
    assert memory is not None and memory.of(8 << 30) == 4 << 30
    memory = options.MEMORY.value("2GiB")
    assert memory is not None and memory.of(8 << 30) == 2 << 30
    assert options.ENFORCEMENT.value("watchdog") == "watchdog"
    with pytest.raises(GobuildError, match="--enforcement: 'cgroups' is not one of auto, "):
        options.ENFORCEMENT.value("cgroups")
    assert options.PROFILE.value("prod") == "prod"
