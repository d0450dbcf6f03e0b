"""A code context backed by a Jupyter kernel (python, bash, r), driven with jupyter_client over loopback."""

import logging
import os
import queue
import time
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager

from . import results
from .context import Context, Stopped

log = logging.getLogger(__name__)

# Our language names -> the kernelspec names installed in the template.
KERNEL_SPECS = {"python": "python3", "bash": "bash", "r": "ir"}

# Files the python kernel runs at start (display formatters, chart support), in name order.
STARTUP_DIR = Path(__file__).resolve().parent / "startup"

# How long an interrupted execution may take to stop before the kernel is restarted to free the context.
INTERRUPT_GRACE_S = 20.0
POLL_S = 0.2


def _kernel_args(language):
    if language != "python":
        return []
    # History in memory only: no sqlite file held open across a checkpoint/restore, none shared by sandboxes.
    args = ["--HistoryManager.enabled=False"]
    if STARTUP_DIR.is_dir():
        args += [f"--IPKernelApp.exec_files={p}" for p in sorted(STARTUP_DIR.glob("*.py"))]
    return args


class JupyterContext(Context):
    def __init__(self, language, cwd):
        super().__init__(language, cwd)
        self.km = None
        self.kc = None

    async def start(self):
        km = AsyncKernelManager(kernel_name=KERNEL_SPECS[self.language])
        # Loopback only: the kernel ports must not be reachable from outside the sandbox.
        km.transport = "tcp"
        km.ip = "127.0.0.1"
        env = dict(os.environ)
        env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
        await km.start_kernel(cwd=self.cwd, env=env, extra_arguments=_kernel_args(self.language))
        self.km = km
        await self._connect()

    async def _connect(self):
        kc = self.km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=60)
        except RuntimeError:
            kc.stop_channels()
            raise
        self.kc = kc

    async def interrupt(self):
        if self.km is not None:
            await self.km.interrupt_kernel()

    async def _restart_runner(self):
        if self.kc is not None:
            self.kc.stop_channels()
        # After a restore into a fresh disk the connection file may be gone; jupyter_client rewrites a
        # missing file, but not a missing directory.
        os.makedirs(os.path.dirname(self.km.connection_file), exist_ok=True)
        await self.km.restart_kernel(now=True)
        await self._connect()

    async def stop(self):
        if self.kc is not None:
            self.kc.stop_channels()
        if self.km is not None:
            await self.km.shutdown_kernel(now=True)

    async def run(self, code, emit, gone, silent=False):
        # stop_on_error=False: else the kernel aborts every request that reaches it shortly after an
        # error (an interrupt on timeout is one), so the next call in the context came back
        # "ExecutionAborted". Calls are one at a time per context: there is no queue to abort.
        msg_id = self.kc.execute(
            code, silent=silent, store_history=not silent, allow_stdin=False, stop_on_error=False
        )
        sent_error = False
        interrupted_at = None
        while True:
            if self.stop_reason:
                raise Stopped()
            if gone.is_set() and interrupted_at is None:
                # The client went away (e.g. its timeout fired): stop the code so the context is free again.
                interrupted_at = time.monotonic()
                await self.interrupt()
            if interrupted_at is not None and time.monotonic() - interrupted_at > INTERRUPT_GRACE_S:
                log.warning("context %s ignored the interrupt, restarting its kernel", self.id)
                await self._restart_runner()
                self._sandbox_envs = None
                return
            try:
                msg = await self.kc.get_iopub_msg(timeout=POLL_S)
            except queue.Empty:
                if not await self.km.is_alive():
                    emit(results.error_line("KernelDied", "The kernel died; it was restarted, rerun the code", ""))
                    await self._restart_runner()
                    self._sandbox_envs = None
                    return
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue  # output of an earlier (interrupted) request
            kind, content = msg["msg_type"], msg["content"]
            if kind == "status" and content.get("execution_state") == "idle":
                break
            if kind == "execute_input":
                emit(results.count_line(content.get("execution_count")))
            elif kind == "stream":
                emit(results.stream_line(content.get("name"), content.get("text", ""), msg["header"].get("date")))
            elif kind in ("execute_result", "display_data"):
                emit(results.result_line(content.get("data"), kind == "execute_result"))
            elif kind == "error" and not sent_error:
                sent_error = True
                emit(results.error_line(content.get("ename"), content.get("evalue"), content.get("traceback")))
        reply = await self._reply(msg_id)
        if reply is not None and reply.get("status") == "aborted" and not sent_error:
            emit(results.error_line("ExecutionAborted", "Execution was aborted", ""))

    async def _reply(self, msg_id):
        """Read the shell reply of `msg_id` (so replies do not pile up unread)."""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                msg = await self.kc.get_shell_msg(timeout=1)
            except queue.Empty:
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg["content"]
        return None


def available(language):
    """Whether the kernelspec for `language` is installed here."""
    from jupyter_client.kernelspec import KernelSpecManager

    return KERNEL_SPECS.get(language) in KernelSpecManager().find_kernel_specs()


