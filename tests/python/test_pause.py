"""Pause and resume through the official SDK: memory, processes and files survive; connect resumes."""

import asyncio
import time

import pytest
from e2b import AsyncSandbox, Sandbox, SandboxNotFoundException, SandboxQuery, SandboxState

# A process that holds a random secret in memory only, and counts the requests it served.
HOLDER = """import http.server, os, secrets
secret = secrets.token_hex(16)
hits = 0
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        global hits
        hits += 1
        body = f"{os.getpid()} {secret} {hits}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", 8000), H).serve_forever()
"""
WAIT_READY = "for i in $(seq 200); do curl -sf 127.0.0.1:8000/ >/dev/null && exit 0; sleep 0.05; done; exit 1"
READ = "curl -sf 127.0.0.1:8000/"


def _held(stdout: str):
    pid, secret, hits = stdout.split(" ")
    return int(pid), secret, int(hits)


def _start_holder_sync(sbx: Sandbox):
    sbx.files.write("/home/user/holder.py", HOLDER)
    sbx.commands.run("python3 /home/user/holder.py", background=True, timeout=0)
    sbx.commands.run(WAIT_READY)


def _state_sync(sandbox_id: str) -> SandboxState:
    return Sandbox.get_info(sandbox_id).state


class TestSync:
    def test_pause_then_connect_keeps_memory_and_files(self, sandbox: Sandbox, label: str):
        _start_holder_sync(sandbox)
        pid, secret, hits = _held(sandbox.commands.run(READ).stdout)
        sandbox.files.write("/home/user/disk.txt", "written before the pause")

        assert sandbox.pause() is True
        assert _state_sync(sandbox.sandbox_id) == SandboxState.PAUSED
        paused = Sandbox.list(query=SandboxQuery(metadata={"label": label}, state=[SandboxState.PAUSED])).next_items()
        assert [s.sandbox_id for s in paused] == [sandbox.sandbox_id]
        # Pausing what is already paused answers 409, which the SDK reports as False.
        assert Sandbox.pause(sandbox.sandbox_id) is False

        resumed = Sandbox.connect(sandbox.sandbox_id, timeout=120)
        assert _state_sync(sandbox.sandbox_id) == SandboxState.RUNNING
        assert _held(resumed.commands.run(READ).stdout) == (pid, secret, hits + 1)
        assert resumed.files.read("/home/user/disk.txt") == "written before the pause"

    def test_beta_pause_and_instance_connect(self, sandbox: Sandbox):
        _start_holder_sync(sandbox)
        pid, secret, _ = _held(sandbox.commands.run(READ).stdout)
        assert sandbox.beta_pause() is True
        assert _state_sync(sandbox.sandbox_id) == SandboxState.PAUSED
        sandbox.connect()
        assert _held(sandbox.commands.run(READ).stdout)[:2] == (pid, secret)

    def test_pause_twice_in_a_row(self, sandbox: Sandbox):
        _start_holder_sync(sandbox)
        pid, secret, _ = _held(sandbox.commands.run(READ).stdout)
        for _ in range(2):
            assert sandbox.pause() is True
            sandbox.connect()
        assert _held(sandbox.commands.run(READ).stdout)[:2] == (pid, secret)

    def test_filesystem_only_pause_keeps_files_and_boots_afresh(self, sandbox: Sandbox):
        _start_holder_sync(sandbox)
        sandbox.files.write("/home/user/disk.txt", "kept")
        assert sandbox.pause(mode="filesystem") is True
        sandbox.connect()
        assert sandbox.files.read("/home/user/disk.txt") == "kept"
        # A cold boot: the process that held the secret is gone.
        assert sandbox.commands.run("curl -s -o /dev/null -w '%{http_code}' 127.0.0.1:8000/ || true").stdout in ("000", "")

    def test_timeout_pauses_and_traffic_resumes(self, label: str):
        # lifecycle on_timeout "pause" + auto_resume: the deadline pauses instead of killing, and
        # the SDK's next envd call (it carries the sandbox's access token) wakes it, memory kept.
        sbx = Sandbox.create(
            timeout=120, metadata={"label": label}, lifecycle={"on_timeout": "pause", "auto_resume": True}
        )
        try:
            _start_holder_sync(sbx)
            pid, secret, _ = _held(sbx.commands.run(READ).stdout)
            sbx.set_timeout(1)
            end = time.monotonic() + 30
            while _state_sync(sbx.sandbox_id) != SandboxState.PAUSED:
                assert time.monotonic() < end, "the sandbox did not pause at its deadline"
                time.sleep(0.2)
            assert _held(sbx.commands.run(READ).stdout)[:2] == (pid, secret)
            assert _state_sync(sbx.sandbox_id) == SandboxState.RUNNING
        finally:
            sbx.kill()

    def test_pause_of_a_killed_sandbox_is_not_found(self, label: str):
        sbx = Sandbox.create(timeout=60, metadata={"label": label})
        sbx.kill()
        with pytest.raises(SandboxNotFoundException):
            Sandbox.pause(sbx.sandbox_id)


class TestAsync:
    async def test_pause_then_connect_keeps_memory(self, async_sandbox: AsyncSandbox):
        await async_sandbox.files.write("/home/user/holder.py", HOLDER)
        await async_sandbox.commands.run("python3 /home/user/holder.py", background=True, timeout=0)
        await async_sandbox.commands.run(WAIT_READY)
        pid, secret, hits = _held((await async_sandbox.commands.run(READ)).stdout)

        assert await async_sandbox.pause() is True
        assert (await AsyncSandbox.get_info(async_sandbox.sandbox_id)).state == SandboxState.PAUSED
        assert await AsyncSandbox.pause(async_sandbox.sandbox_id) is False

        resumed = await AsyncSandbox.connect(async_sandbox.sandbox_id, timeout=120)
        assert _held((await resumed.commands.run(READ)).stdout) == (pid, secret, hits + 1)

    async def test_parallel_pauses_and_resumes(self, label: str):
        # Several sandboxes paused and resumed at once, as an agent fleet would.
        sandboxes = await asyncio.gather(
            *(AsyncSandbox.create(timeout=120, metadata={"label": label}) for _ in range(3))
        )
        try:
            for sbx in sandboxes:
                await sbx.files.write("/home/user/id.txt", sbx.sandbox_id)
            assert await asyncio.gather(*(sbx.pause() for sbx in sandboxes)) == [True, True, True]
            await asyncio.gather(*(sbx.connect() for sbx in sandboxes))
            for sbx in sandboxes:
                assert await sbx.files.read("/home/user/id.txt") == sbx.sandbox_id
        finally:
            await asyncio.gather(*(sbx.kill() for sbx in sandboxes), return_exceptions=True)
