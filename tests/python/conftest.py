"""Fixtures for the Python SDK tests, and a reporter that tells python-sdk.test.ts each case's result."""

import json
import os
import secrets

import pytest
from e2b import AsyncSandbox, Sandbox

# Long enough for the slowest case here (a pause and resume under load); every fixture kills its
# sandbox when the test ends, so this only bounds a sandbox a crashed run leaves behind.
SANDBOX_TIMEOUT = 300


@pytest.fixture
def label() -> str:
    """A value no other test uses, for metadata filters and file names."""
    return f"py-{secrets.token_hex(6)}"


@pytest.fixture
def sandbox(label: str):
    sbx = Sandbox.create(timeout=SANDBOX_TIMEOUT, metadata={"suite": "python-sdk", "label": label})
    try:
        yield sbx
    finally:
        sbx.kill()


@pytest.fixture
async def async_sandbox(label: str):
    sbx = await AsyncSandbox.create(timeout=SANDBOX_TIMEOUT, metadata={"suite": "python-sdk", "label": label})
    try:
        yield sbx
    finally:
        await sbx.kill()


# One JSON line per test once its teardown ran (so a run cut short still reports what finished):
# {"nodeid", "outcome": passed|failed|skipped, "detail"}. A failed setup or teardown fails the case.
_phases: dict = {}


def _detail(report) -> str:
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2])
    text = str(report.longrepr or "")
    for title, content in report.sections:
        if content.strip():
            text += f"\n--- {title} ---\n{content}"
    return text


def pytest_runtest_logreport(report):
    path = os.environ.get("SANDBOXD_PYTEST_REPORT")
    if not path:
        return
    if report.when == "call" or report.failed or report.skipped:
        _phases.setdefault(report.nodeid, []).append(report)
    if report.when != "teardown":
        return
    reports = _phases.pop(report.nodeid, [])
    failed = [r for r in reports if r.failed]
    skipped = [r for r in reports if r.skipped]
    if failed:
        outcome, detail = "failed", "\n".join(f"[{r.when}] {_detail(r)}" for r in failed)
    elif skipped:
        outcome, detail = "skipped", _detail(skipped[0])
    else:
        outcome, detail = "passed", ""
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps({"nodeid": report.nodeid, "outcome": outcome, "detail": detail}) + "\n")
