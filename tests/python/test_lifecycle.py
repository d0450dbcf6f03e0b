"""Sandbox lifecycle through the official SDK: create, info, list, timeout, connect, kill."""

import asyncio
import time

import pytest
from e2b import AsyncSandbox, Sandbox, SandboxNotFoundException, SandboxQuery, SandboxState

from conftest import SANDBOX_TIMEOUT


def _wait_until_gone_sync(sandbox_id: str, seconds: float = 30) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            if Sandbox.get_info(sandbox_id).state != SandboxState.RUNNING:
                return True
        except SandboxNotFoundException:
            return True
        time.sleep(0.2)
    return False


def _assert_deadline(info, timeout: int, create_seconds: float):
    # The timeout counts from the moment the sandbox is usable: the deadline lies the timeout after
    # the start, plus at most the time the create took (times are in milliseconds on the wire).
    lead = (info.end_at - info.started_at).total_seconds()
    assert timeout - 0.001 <= lead <= timeout + create_seconds + 0.001


class TestSync:
    def test_create_with_metadata_envs_and_timeout(self, label: str):
        asked = time.monotonic()
        sbx = Sandbox.create(timeout=120, metadata={"label": label, "team": "py"}, envs={"GREETING": "hello from py"})
        create_seconds = time.monotonic() - asked
        try:
            info = sbx.get_info()
            assert info.sandbox_id == sbx.sandbox_id
            assert info.state == SandboxState.RUNNING
            assert info.metadata == {"label": label, "team": "py"}
            assert info.template_id == "base"
            _assert_deadline(info, 120, create_seconds)
            assert sbx.commands.run("echo $GREETING").stdout == "hello from py\n"
            assert sbx.is_running()
        finally:
            assert sbx.kill() is True

    def test_list_filters_by_metadata(self, sandbox: Sandbox, label: str):
        paginator = Sandbox.list(query=SandboxQuery(metadata={"label": label}))
        found = paginator.next_items()
        assert [s.sandbox_id for s in found] == [sandbox.sandbox_id]
        assert found[0].metadata["suite"] == "python-sdk"
        assert Sandbox.list(query=SandboxQuery(metadata={"label": f"{label}-none"})).next_items() == []

    def test_set_timeout_moves_the_deadline(self, sandbox: Sandbox):
        before = sandbox.get_info().end_at
        sandbox.set_timeout(SANDBOX_TIMEOUT + 600)
        after = sandbox.get_info().end_at
        assert (after - before).total_seconds() > 500

    def test_set_timeout_zero_expires_the_sandbox(self, sandbox: Sandbox):
        # E2B accepts 0: the sandbox's deadline is now, so it stops at once.
        sandbox.set_timeout(0)
        assert _wait_until_gone_sync(sandbox.sandbox_id)

    def test_connect_by_id(self, sandbox: Sandbox):
        sandbox.files.write("/home/user/marker.txt", "connected")
        other = Sandbox.connect(sandbox.sandbox_id)
        assert other.sandbox_id == sandbox.sandbox_id
        assert other.files.read("/home/user/marker.txt") == "connected"
        assert other.commands.run("cat /home/user/marker.txt").stdout == "connected"

    def test_kill_then_gone(self, label: str):
        sbx = Sandbox.create(timeout=60, metadata={"label": label})
        assert sbx.kill() is True
        assert not sbx.is_running()
        with pytest.raises(SandboxNotFoundException):
            Sandbox.get_info(sbx.sandbox_id)
        # Killing what is already gone answers "not found", which the SDK reports as False.
        assert Sandbox.kill(sbx.sandbox_id) is False
        with pytest.raises(SandboxNotFoundException):
            Sandbox.connect(sbx.sandbox_id)
        assert Sandbox.list(query=SandboxQuery(metadata={"label": label})).next_items() == []

    def test_unknown_id_is_not_found(self):
        with pytest.raises(SandboxNotFoundException):
            Sandbox.get_info("doesnotexist0000000000")
        with pytest.raises(SandboxNotFoundException):
            Sandbox.connect("doesnotexist0000000000")


class TestAsync:
    async def test_create_with_metadata_envs_and_timeout(self, label: str):
        asked = time.monotonic()
        sbx = await AsyncSandbox.create(timeout=120, metadata={"label": label}, envs={"GREETING": "hello async"})
        create_seconds = time.monotonic() - asked
        try:
            info = await sbx.get_info()
            assert info.state == SandboxState.RUNNING
            assert info.metadata == {"label": label}
            _assert_deadline(info, 120, create_seconds)
            assert (await sbx.commands.run("echo $GREETING")).stdout == "hello async\n"
            assert await sbx.is_running()
        finally:
            assert await sbx.kill() is True

    async def test_list_filters_by_metadata(self, async_sandbox: AsyncSandbox, label: str):
        found = await AsyncSandbox.list(query=SandboxQuery(metadata={"label": label})).next_items()
        assert [s.sandbox_id for s in found] == [async_sandbox.sandbox_id]

    async def test_set_timeout_moves_the_deadline(self, async_sandbox: AsyncSandbox):
        before = (await async_sandbox.get_info()).end_at
        await async_sandbox.set_timeout(SANDBOX_TIMEOUT + 600)
        after = (await async_sandbox.get_info()).end_at
        assert (after - before).total_seconds() > 500

    async def test_set_timeout_zero_expires_the_sandbox(self, async_sandbox: AsyncSandbox):
        await async_sandbox.set_timeout(0)
        # Asked through the API: an is_running() probe in flight while the sandbox dies sees its
        # connection dropped rather than an answer.
        for _ in range(150):
            try:
                if (await AsyncSandbox.get_info(async_sandbox.sandbox_id)).state != SandboxState.RUNNING:
                    return
            except SandboxNotFoundException:
                return
            await asyncio.sleep(0.2)
        pytest.fail("the sandbox still runs after set_timeout(0)")

    async def test_connect_by_id(self, async_sandbox: AsyncSandbox):
        await async_sandbox.files.write("/home/user/marker.txt", "connected")
        other = await AsyncSandbox.connect(async_sandbox.sandbox_id)
        assert await other.files.read("/home/user/marker.txt") == "connected"

    async def test_kill_then_gone(self, label: str):
        sbx = await AsyncSandbox.create(timeout=60, metadata={"label": label})
        assert await sbx.kill() is True
        assert not await sbx.is_running()
        with pytest.raises(SandboxNotFoundException):
            await AsyncSandbox.get_info(sbx.sandbox_id)
        assert await AsyncSandbox.kill(sbx.sandbox_id) is False
