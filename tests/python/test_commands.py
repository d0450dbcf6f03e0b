"""Commands through the official SDK: output, envs, cwd, user, exit codes, background, stdin, deadlines."""

import asyncio

import pytest
from e2b import AsyncSandbox, CommandExitException, Sandbox, TimeoutException


class TestSync:
    def test_run_returns_output_and_exit_code(self, sandbox: Sandbox):
        result = sandbox.commands.run("echo out; echo err >&2")
        assert result.exit_code == 0
        assert result.stdout == "out\n"
        assert result.stderr == "err\n"
        assert result.error is None

    def test_output_callbacks(self, sandbox: Sandbox):
        out, err = [], []
        sandbox.commands.run("for i in 1 2 3; do echo o$i; echo e$i >&2; done", on_stdout=out.append, on_stderr=err.append)
        assert "".join(out) == "o1\no2\no3\n"
        assert "".join(err) == "e1\ne2\ne3\n"

    def test_envs_cwd_and_user(self, sandbox: Sandbox):
        assert sandbox.commands.run("echo $ONE-$TWO", envs={"ONE": "1", "TWO": "two"}).stdout == "1-two\n"
        assert sandbox.commands.run("pwd", cwd="/tmp").stdout == "/tmp\n"
        # The default user is `user`, in its home directory; `root` can be asked for.
        assert sandbox.commands.run("whoami; pwd").stdout == "user\n/home/user\n"
        assert sandbox.commands.run("whoami", user="root").stdout == "root\n"

    def test_non_zero_exit_raises_command_exit(self, sandbox: Sandbox):
        with pytest.raises(CommandExitException) as caught:
            sandbox.commands.run("echo partial; echo broken >&2; exit 3")
        assert caught.value.exit_code == 3
        assert caught.value.stdout == "partial\n"
        assert caught.value.stderr == "broken\n"

    def test_deadline_raises_timeout(self, sandbox: Sandbox):
        # envd ends the stream with a deadline_exceeded error, which the SDK raises as TimeoutException.
        with pytest.raises(TimeoutException):
            sandbox.commands.run("sleep 30", timeout=2)

    def test_background_deadline_raises_timeout(self, sandbox: Sandbox):
        # The deadline covers the whole stream, its start included.
        with pytest.raises(TimeoutException):
            sandbox.commands.run("sleep 30", background=True, timeout=2).wait()

    def test_background_list_and_kill(self, sandbox: Sandbox):
        handle = sandbox.commands.run("sleep 120", background=True)
        assert handle.pid in [p.pid for p in sandbox.commands.list()]
        assert handle.kill() is True
        with pytest.raises(CommandExitException):
            handle.wait()
        assert handle.pid not in [p.pid for p in sandbox.commands.list()]
        # A process that is gone: kill answers "not found", which the SDK reports as False.
        assert sandbox.commands.kill(handle.pid) is False

    def test_connect_to_a_running_command(self, sandbox: Sandbox):
        handle = sandbox.commands.run("sleep 1; echo later", background=True)
        again = sandbox.commands.connect(handle.pid)
        assert again.wait().stdout == "later\n"

    def test_stdin(self, sandbox: Sandbox):
        handle = sandbox.commands.run("cat", background=True, stdin=True)
        handle.send_stdin("hello ")
        sandbox.commands.send_stdin(handle.pid, "stdin\n")
        handle.close_stdin()
        assert handle.wait().stdout == "hello stdin\n"

    def test_python_is_on_path(self, sandbox: Sandbox):
        # E2B's base template has `python` as well as `python3`; agents call either.
        assert sandbox.commands.run("python -c 'print(6 * 7)'").stdout == "42\n"
        assert sandbox.commands.run("python3 -c 'print(6 * 7)'").stdout == "42\n"


class TestAsync:
    async def test_run_envs_cwd_user(self, async_sandbox: AsyncSandbox):
        result = await async_sandbox.commands.run("echo $X; pwd; whoami", envs={"X": "async"}, cwd="/tmp")
        assert result.stdout == "async\n/tmp\nuser\n"
        assert (await async_sandbox.commands.run("whoami", user="root")).stdout == "root\n"

    async def test_non_zero_exit_raises_command_exit(self, async_sandbox: AsyncSandbox):
        with pytest.raises(CommandExitException) as caught:
            await async_sandbox.commands.run("exit 7")
        assert caught.value.exit_code == 7

    async def test_deadline_raises_timeout(self, async_sandbox: AsyncSandbox):
        with pytest.raises(TimeoutException):
            await async_sandbox.commands.run("sleep 30", timeout=2)

    async def test_background_stream_and_kill(self, async_sandbox: AsyncSandbox):
        lines: asyncio.Queue = asyncio.Queue()
        handle = await async_sandbox.commands.run(
            "echo started; sleep 120", background=True, on_stdout=lines.put_nowait
        )
        assert await asyncio.wait_for(lines.get(), timeout=15) == "started\n"
        assert handle.pid in [p.pid for p in await async_sandbox.commands.list()]
        assert await handle.kill() is True
        with pytest.raises(CommandExitException):
            await handle.wait()

    async def test_stdin(self, async_sandbox: AsyncSandbox):
        handle = await async_sandbox.commands.run("cat", background=True, stdin=True)
        await handle.send_stdin("async stdin\n")
        await handle.close_stdin()
        assert (await handle.wait()).stdout == "async stdin\n"
