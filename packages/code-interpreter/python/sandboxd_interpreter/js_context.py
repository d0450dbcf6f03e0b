"""A JavaScript/TypeScript context: one long-lived Node runner process per context.

The runner reads one JSON request per line on stdin ({"id", "code"}) and answers with JSON lines on stdout
tagged with the same id: stdout / stderr / result / error events, then "done". SIGINT interrupts the
running request and leaves the runner usable.
"""

import asyncio
import json
import logging
import os
import signal
import time

from . import results
from .context import Context, Stopped

log = logging.getLogger(__name__)

RUNNER = os.environ.get("SANDBOXD_JS_RUNNER", "/opt/sandboxd/interpreter/js-runner.mjs")
NODE = os.environ.get("SANDBOXD_NODE", "node")
INTERRUPT_GRACE_S = 20.0
POLL_S = 0.2
_DIED = object()


def available():
    return os.path.isfile(RUNNER)


class JsContext(Context):
    def __init__(self, language, cwd):
        super().__init__(language, cwd)
        self.proc = None
        self._next_id = 0
        self._waiting = {}  # request id -> asyncio.Queue of events
        self._reader = None
        self._count = 0  # execution count shown to the client; the runner has none of its own

    async def start(self):
        self.proc = await asyncio.create_subprocess_exec(
            NODE,
            RUNNER,
            # The runner strips TypeScript types from every request when told its language is typescript.
            f"--language={self.language}",
            cwd=self.cwd,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            # Lines can be large (a big result); the default 64 KiB line limit would break the reader.
            limit=64 * 1024 * 1024,
            start_new_session=True,
        )
        self._reader = asyncio.ensure_future(self._read(self.proc))

    async def _read(self, proc):
        try:
            while True:
                raw = await proc.stdout.readline()
                if not raw:
                    break
                try:
                    event = json.loads(raw)
                except ValueError:
                    log.warning("js runner wrote a non-JSON line: %r", raw[:200])
                    continue
                waiting = self._waiting.get(event.get("id")) if isinstance(event, dict) else None
                if waiting is not None:
                    waiting.put_nowait(event)
        finally:
            if proc is self.proc:
                for waiting in self._waiting.values():
                    waiting.put_nowait(_DIED)

    async def interrupt(self):
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGINT)

    async def _restart_runner(self):
        await self.stop()
        self._count = 0
        await self.start()

    async def stop(self):
        proc, self.proc = self.proc, None
        if proc is not None and proc.returncode is None:
            proc.kill()
            await proc.wait()
        for waiting in self._waiting.values():
            waiting.put_nowait(_DIED)

    async def on_restore(self):
        # V8's Math.random and Node's crypto pools cannot be reseeded from JavaScript. A context restored
        # from the snapshot has never run user code, so a fresh runner loses nothing and gets fresh entropy.
        # (A context that already ran code keeps its state: that is a resume of the same sandbox.)
        if self._count == 0:
            await self._restart_runner()

    async def run(self, code, emit, gone, silent=False):
        if self.proc is None or self.proc.returncode is not None:
            await self._restart_runner()
        self._next_id += 1
        req_id = self._next_id
        events = asyncio.Queue()
        self._waiting[req_id] = events
        try:
            line = json.dumps({"id": req_id, "code": code}) + "\n"
            self.proc.stdin.write(line.encode())
            await self.proc.stdin.drain()
            if not silent:
                self._count += 1
                emit(results.count_line(self._count))
            await self._pump(events, emit, gone)
        except (BrokenPipeError, ConnectionResetError):
            emit(results.error_line("KernelDied", "The JavaScript runner died; it was restarted, rerun the code", ""))
            await self._restart_runner()
        finally:
            self._waiting.pop(req_id, None)

    async def _pump(self, events, emit, gone):
        sent_error = False
        interrupted_at = None
        while True:
            if self.stop_reason:
                raise Stopped()
            if gone.is_set() and interrupted_at is None:
                interrupted_at = time.monotonic()
                await self.interrupt()
            if interrupted_at is not None and time.monotonic() - interrupted_at > INTERRUPT_GRACE_S:
                log.warning("context %s ignored the interrupt, restarting its runner", self.id)
                await self._restart_runner()
                return
            try:
                event = await asyncio.wait_for(events.get(), POLL_S)
            except asyncio.TimeoutError:
                continue
            if event is _DIED:
                if self.stop_reason:
                    raise Stopped()
                emit(results.error_line("KernelDied", "The JavaScript runner died; it was restarted, rerun the code", ""))
                await self._restart_runner()
                return
            kind = event.get("type")
            if kind == "done":
                return
            if kind in ("stdout", "stderr"):
                emit(results.stream_line(kind, str(event.get("text", ""))))
            elif kind == "result":
                emit(results.result_line(event.get("data"), True))
            elif kind == "error" and not sent_error:
                sent_error = True
                emit(results.error_line(event.get("name"), event.get("value"), event.get("traceback")))
