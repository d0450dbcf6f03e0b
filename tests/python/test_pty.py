"""PTYs through the official SDK: input, output, resize, deadline."""

import asyncio

import pytest
from e2b import AsyncSandbox, PtySize, Sandbox, TimeoutException


class TestSync:
    def test_pty_runs_a_shell(self, sandbox: Sandbox):
        handle = sandbox.pty.create(PtySize(rows=24, cols=80))
        sandbox.pty.resize(handle.pid, PtySize(rows=30, cols=100))
        sandbox.pty.send_stdin(handle.pid, b"echo pty-$((6*7)); stty size; tty; exit\n")
        output = bytearray()
        result = handle.wait(on_pty=output.extend)
        assert result.exit_code == 0
        text = output.decode(errors="replace")
        assert "pty-42" in text
        assert "30 100" in text
        assert "/dev/pts/" in text

    def test_pty_kill(self, sandbox: Sandbox):
        handle = sandbox.pty.create(PtySize(rows=24, cols=80))
        assert sandbox.pty.kill(handle.pid) is True
        with pytest.raises(Exception):
            handle.wait()

    def test_pty_deadline_raises_timeout(self, sandbox: Sandbox):
        # The deadline covers the whole stream, its start included: on a loaded machine it may
        # already pass while the PTY starts.
        with pytest.raises(TimeoutException):
            sandbox.pty.create(PtySize(rows=24, cols=80), timeout=2).wait()


class TestAsync:
    async def test_pty_runs_a_shell(self, async_sandbox: AsyncSandbox):
        output = bytearray()
        done = asyncio.Event()

        def on_data(chunk: bytes):
            output.extend(chunk)
            if b"pty-42" in output:
                done.set()

        handle = await async_sandbox.pty.create(PtySize(rows=24, cols=80), on_data=on_data)
        await async_sandbox.pty.send_stdin(handle.pid, b"echo pty-$((6*7))\n")
        await asyncio.wait_for(done.wait(), timeout=15)
        await async_sandbox.pty.send_stdin(handle.pid, b"exit\n")
        assert (await handle.wait()).exit_code == 0

    async def test_pty_deadline_raises_timeout(self, async_sandbox: AsyncSandbox):
        with pytest.raises(TimeoutException):
            handle = await async_sandbox.pty.create(PtySize(rows=24, cols=80), on_data=lambda _: None, timeout=2)
            await handle.wait()
