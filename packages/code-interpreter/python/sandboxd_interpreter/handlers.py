"""The HTTP API on port 49999, as the E2B code-interpreter clients call it."""

import asyncio
import json
import logging

from tornado import iostream, web

from . import envs, results
from .registry import BadRequest, normalise

log = logging.getLogger(__name__)

KEEPALIVE_S = 5.0


def _reason(message):
    # The JS client only shows "<status> <statusText>", so the reason phrase carries the message too.
    text = " ".join(str(message).split())
    return text.encode("latin-1", "replace").decode("latin-1")[:200] or "Bad Request"


class BaseHandler(web.RequestHandler):
    def initialize(self, registry):
        self.registry = registry

    def set_default_headers(self):
        self.set_header("Access-Control-Allow-Origin", "*")
        self.set_header("Access-Control-Allow-Headers", "*")
        self.set_header("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS")

    def options(self, *args):
        self.set_status(204)

    def check_xsrf_cookie(self):
        pass

    def text_error(self, status, message, reason=None):
        self.clear()
        self.set_status(status, reason=reason)
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish(message)

    def write_error(self, status_code, **kwargs):
        # Never a traceback page: a short plain-text body.
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish(self._reason or "Error")

    def write_json(self, value, status=200):
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(value))

    def json_body(self, required=True):
        """The request body as a JSON object; an empty body counts as {} unless required."""
        raw = self.request.body or b""
        if not raw.strip():
            if required:
                raise BadRequest("Request body must be a JSON object")
            return {}
        try:
            body = json.loads(raw)
        except ValueError as err:
            raise BadRequest(f"Request body is not valid JSON: {err}") from None
        if body is None and not required:
            return {}
        if not isinstance(body, dict):
            raise BadRequest("Request body must be a JSON object")
        return body

    def not_found(self, context_id):
        self.text_error(404, f"Context {context_id} not found")

    def bad_request(self, err):
        self.text_error(400, str(err), reason=_reason(err))


class HealthHandler(BaseHandler):
    def get(self):
        self.write_json("OK")


class ContextsHandler(BaseHandler):
    def get(self):
        self.write_json([ctx.describe() for ctx in self.registry.contexts.values()])

    async def post(self):
        try:
            body = self.json_body(required=False)
            ctx = await self.registry.create(body.get("language"), body.get("cwd"))
        except BadRequest as err:
            return self.bad_request(err)
        self.write_json(ctx.describe())


class ContextHandler(BaseHandler):
    async def delete(self, context_id):
        if not await self.registry.remove(context_id):
            return self.not_found(context_id)
        self.write_json(None)


class RestartHandler(BaseHandler):
    async def post(self, context_id):
        ctx = self.registry.get(context_id)
        if ctx is None:
            return self.not_found(context_id)
        try:
            await ctx.restart()
        except Exception as err:  # noqa: BLE001 - a kernel that will not come back is a 500 with a reason
            log.exception("restart of %s failed", context_id)
            return self.text_error(500, f"Restarting context {context_id} failed: {err}")
        self.write_json(None)


class ExecuteHandler(BaseHandler):
    def initialize(self, registry):
        super().initialize(registry)
        self.gone = asyncio.Event()

    def on_connection_close(self):
        self.gone.set()

    async def post(self):
        try:
            body = self.json_body()
            code = body.get("code")
            if not isinstance(code, str):
                raise BadRequest("code must be a string")
            context_id, language = body.get("context_id"), body.get("language")
            if context_id is not None and language is not None:
                raise BadRequest("Only one of context_id or language can be provided")
            if context_id is not None:
                if not isinstance(context_id, str):
                    raise BadRequest("context_id must be a string")
                ctx = self.registry.get(context_id)
                if ctx is None:
                    return self.not_found(context_id)
            else:
                ctx = await self.registry.default_for(normalise(language))
            env_vars = body.get("env_vars") or {}
            problem = envs.validate(env_vars, ctx.language)
            if problem:
                raise BadRequest(problem)
        except BadRequest as err:
            return self.bad_request(err)
        await self._stream(ctx, code, env_vars)

    async def _stream(self, ctx, code, env_vars):
        self.set_header("Content-Type", "application/x-ndjson")
        self.set_header("Cache-Control", "no-cache")
        lines = asyncio.Queue()
        token = self.request.headers.get("X-Access-Token")
        task = asyncio.ensure_future(ctx.execute(code, env_vars, token, lines.put_nowait, self.gone))
        task.add_done_callback(lambda _t: lines.put_nowait(None))
        while True:
            try:
                line = await asyncio.wait_for(lines.get(), KEEPALIVE_S)
            except asyncio.TimeoutError:
                line = results.KEEPALIVE
            if line is None:
                break
            await self._send(line)
        if task.exception() is not None:
            log.error("execution in %s failed", ctx.id, exc_info=task.exception())
            await self._send(results.error_line("InternalError", str(task.exception()), ""))
        await self._send(results.END)
        if not self.gone.is_set():
            self.finish()

    async def _send(self, line):
        if self.gone.is_set():
            return
        # ASCII-only JSON: a multi-byte character can then never be split across network chunks.
        self.write(json.dumps(line, ensure_ascii=True) + "\n")
        try:
            await self.flush()
        except iostream.StreamClosedError:
            self.gone.set()


class NotFoundHandler(BaseHandler):
    def prepare(self):
        self.text_error(404, "Not found")


def make_app(registry):
    args = {"registry": registry}
    return web.Application(
        [
            (r"/health", HealthHandler, args),
            (r"/execute", ExecuteHandler, args),
            (r"/contexts", ContextsHandler, args),
            (r"/contexts/([^/]+)", ContextHandler, args),
            (r"/contexts/([^/]+)/restart", RestartHandler, args),
        ],
        default_handler_class=NotFoundHandler,
        default_handler_args=args,
        compress_response=False,
    )
