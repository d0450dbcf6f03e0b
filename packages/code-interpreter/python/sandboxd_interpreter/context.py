"""What every code context does, whatever runs its code: one execution at a time, the sandbox env vars
applied on first use, per-call env vars set and put back, and a reseed after a snapshot restore.
Subclasses (a Jupyter kernel, the Node runner) supply start/run/interrupt/restart/stop."""

import asyncio
import logging
import uuid

from . import entropy, envs, results

log = logging.getLogger(__name__)


class Stopped(Exception):
    """Raised inside a run when the context is being restarted or removed."""


class Context:
    def __init__(self, language, cwd):
        self.id = str(uuid.uuid4())
        self.language = language
        self.cwd = cwd
        self.lock = asyncio.Lock()
        # Why a run must stop early: "restart" / "remove" (checked by the subclass's run loop).
        self.stop_reason = None
        self.removed = False
        self._boot_id = entropy.boot_id()
        # The sandbox-wide env vars as applied in this context; None until the first execution fetched them.
        self._sandbox_envs = None

    def describe(self):
        return {"id": self.id, "language": self.language, "cwd": self.cwd}

    # --- supplied by subclasses ---
    async def start(self):
        raise NotImplementedError

    async def run(self, code, emit, gone, silent=False):
        """Run `code`, calling emit(line) for each output line; returns when the code finished."""
        raise NotImplementedError

    async def interrupt(self):
        raise NotImplementedError

    async def _restart_runner(self):
        raise NotImplementedError

    async def stop(self):
        raise NotImplementedError

    async def on_restore(self):
        """Called before the first run after a snapshot restore; default: run the language's reseed code."""
        code = entropy.reseed_code(self.language)
        if code:
            await self.run_silent(code)

    # --- shared behaviour ---
    async def run_silent(self, code):
        await self.run(code, lambda line: None, asyncio.Event(), silent=True)

    async def execute(self, code, env_vars, access_token, emit, gone):
        """One /execute call: serialised with the context's other executions."""
        async with self.lock:
            if self.removed:
                emit(results.error_line("ContextNotFound", f"Context {self.id} was removed", ""))
                return
            if gone.is_set():
                return  # the client left while waiting for its turn
            try:
                await self._prepare(access_token)
                if env_vars:
                    await self.run_silent(envs.set_code(self.language, env_vars))
                try:
                    await self.run(code, emit, gone)
                finally:
                    if env_vars and not self.stop_reason:
                        revert = envs.revert_code(self.language, env_vars, self._sandbox_envs or {})
                        if revert:
                            await self.run_silent(revert)
            except Stopped:
                emit(results.error_line("ContextRestarting", "Context was restarted", ""))

    async def _prepare(self, access_token):
        current = entropy.boot_id()
        if current != self._boot_id:
            # Restored from the ready snapshot: this is a new sandbox with its own env vars and entropy.
            log.info("context %s: boot id changed, reseeding", self.id)
            self._boot_id = current
            old = self._sandbox_envs
            self._sandbox_envs = None
            await self.on_restore()
            if old:
                code = envs.unset_code(self.language, list(old))
                if code:
                    await self.run_silent(code)
        if self._sandbox_envs is None:
            fetched = await envs.fetch_sandbox_envs(access_token)
            if fetched is not None:
                code = envs.set_code(self.language, fetched)
                if code:
                    await self.run_silent(code)
                self._sandbox_envs = fetched

    async def restart(self):
        """Restart: a running execution ends with a ContextRestarting error; state is gone afterwards."""
        self.stop_reason = "restart"
        try:
            await self.interrupt()
        except Exception:  # noqa: BLE001 - the restart below replaces the process anyway
            pass
        async with self.lock:
            self.stop_reason = None
            await self._restart_runner()
            self._sandbox_envs = None  # the new process has none of them; re-applied on next use

    async def remove(self):
        self.removed = True
        self.stop_reason = "remove"
        await self.stop()
