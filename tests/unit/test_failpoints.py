"""A fault test names where the gateway dies: `GRIDLEDGER_FAILPOINTS` is read strictly, and a
process reaching a point its count-th time is killed there and nowhere else."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from gridledger.errors import InputError
from gridledger.iot.failpoints import ENVIRONMENT, GATEWAY_FAILPOINTS, Failpoints, parse_failpoints


def test_parseFailpoints_namesAndCounts() -> None:
    assert parse_failpoints("after-outbox-write=3,before-ack=1") == {"after-outbox-write": 3, "before-ack": 1}


def test_parseFailpoints_spacesAndEmptyItems_areSkipped() -> None:
    assert parse_failpoints(" mid-batch=2 , ,after-submit=10,") == {"mid-batch": 2, "after-submit": 10}


def test_parseFailpoints_everyGatewayPoint_isKnown() -> None:
    text = ",".join(f"{name}=1" for name in GATEWAY_FAILPOINTS)
    assert parse_failpoints(text) == dict.fromkeys(GATEWAY_FAILPOINTS, 1)


def test_parseFailpoints_emptyString_isNoPoint() -> None:
    assert parse_failpoints("") == {}


def test_parseFailpoints_unknownName_isRefused() -> None:
    with pytest.raises(InputError, match="'before-commit=1'"):
        parse_failpoints("before-ack=1,before-commit=1")


def test_parseFailpoints_countZero_isRefused() -> None:
    with pytest.raises(InputError, match="'before-ack=0'"):
        parse_failpoints("before-ack=0")


def test_parseFailpoints_missingEquals_isRefused() -> None:
    with pytest.raises(InputError, match="NAME=COUNT"):
        parse_failpoints("before-ack")


@pytest.mark.parametrize("count", ["", "-1", "two", "1.5"])
def test_parseFailpoints_countNotAPositiveWholeNumber_isRefused(count: str) -> None:
    with pytest.raises(InputError, match=ENVIRONMENT):
        parse_failpoints(f"mid-batch={count}")


def test_parseFailpoints_superscriptDigit_isRefused() -> None:
    with pytest.raises(InputError):
        parse_failpoints("mid-batch=²")


def test_failpoints_readsTheEnvironment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENVIRONMENT, "before-ack=0")
    with pytest.raises(InputError):
        Failpoints()


def test_reach_unsetPoint_doesNothing() -> None:
    points = Failpoints({})
    for name in GATEWAY_FAILPOINTS:
        points.reach(name)  # alive to carry on


def test_reach_countsDownItsOwnCopy() -> None:
    chosen = {"before-ack": 5}
    Failpoints(chosen).reach("before-ack")
    assert chosen == {"before-ack": 5}


# A process that reaches `after-outbox-write` twice, saying so after each time it survives.
REACHES_TWICE = """
from gridledger.iot.failpoints import Failpoints
points = Failpoints()
points.reach("before-ack")
print("passed before-ack", flush=True)
for time in (1, 2):
    points.reach("after-outbox-write")
    print(f"survived reach {time}", flush=True)
"""


def _run(failpoints: str | None) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if key != ENVIRONMENT}
    if failpoints is not None:
        environment[ENVIRONMENT] = failpoints
    return subprocess.run(
        [sys.executable, "-c", REACHES_TWICE], env=environment, capture_output=True, text=True, timeout=120
    )


def test_reach_secondTimeOfACountOf2_killsTheProcessBySigkill() -> None:
    ran = _run("after-outbox-write=2")
    assert ran.returncode == -signal.SIGKILL, ran.stderr
    assert ran.stdout.splitlines() == ["passed before-ack", "survived reach 1"]


def test_reach_countOf1_killsAtTheFirstTime() -> None:
    ran = _run("after-outbox-write=1")
    assert ran.returncode == -signal.SIGKILL, ran.stderr
    assert ran.stdout.splitlines() == ["passed before-ack"]


def test_reach_withoutTheVariable_neverKills() -> None:
    ran = _run(None)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines() == ["passed before-ack", "survived reach 1", "survived reach 2"]


def test_reach_countBeyondTheReaches_neverKills() -> None:
    ran = _run("after-outbox-write=3,mid-batch=1")
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines()[-1] == "survived reach 2"
