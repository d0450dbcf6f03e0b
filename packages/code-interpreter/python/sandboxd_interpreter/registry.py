"""The set of code contexts: creation by language, the per-language default contexts, lookup, removal."""

import asyncio
import logging
import os

from . import js_context, jupyter_context

log = logging.getLogger(__name__)

DEFAULT_CWD = os.environ.get("SANDBOXD_CI_CWD", "/home/user")
JS_LANGUAGES = ("javascript", "typescript")
ALIASES = {"js": "javascript", "ts": "typescript", "py": "python", "python3": "python", "sh": "bash"}


class BadRequest(Exception):
    """Input the client must fix (answered 400 with this message)."""


def normalise(language):
    if language is None:
        return "python"
    if not isinstance(language, str):
        raise BadRequest("language must be a string")
    name = language.strip().lower() or "python"
    return ALIASES.get(name, name)


def supported_languages():
    langs = [lang for lang in jupyter_context.KERNEL_SPECS if jupyter_context.available(lang)]
    if js_context.available():
        langs += list(JS_LANGUAGES)
    return langs


class Registry:
    def __init__(self):
        self.contexts = {}
        self.defaults = {}  # language -> id of its default context
        self._default_locks = {}

    async def create(self, language=None, cwd=None):
        language = normalise(language)
        if cwd is None or cwd == "":
            cwd = DEFAULT_CWD
        if not isinstance(cwd, str):
            raise BadRequest("cwd must be a string")
        if not os.path.isdir(cwd):
            raise BadRequest(f"cwd {cwd!r} is not a directory")
        if language in JS_LANGUAGES:
            if not js_context.available():
                raise BadRequest(f"Language {language!r} is not available: the JavaScript runner is not installed")
            ctx = js_context.JsContext(language, cwd)
        elif language in jupyter_context.KERNEL_SPECS:
            if not jupyter_context.available(language):
                raise BadRequest(f"Language {language!r} is not available: its Jupyter kernel is not installed")
            ctx = jupyter_context.JupyterContext(language, cwd)
        else:
            raise BadRequest(
                f"Unsupported language {language!r}; supported here: {', '.join(supported_languages())}"
            )
        await ctx.start()
        self.contexts[ctx.id] = ctx
        return ctx

    def get(self, context_id):
        return self.contexts.get(context_id)

    async def default_for(self, language):
        """The default context of `language`, created on first use."""
        language = normalise(language)
        lock = self._default_locks.setdefault(language, asyncio.Lock())
        async with lock:
            ctx = self.contexts.get(self.defaults.get(language))
            if ctx is None:
                ctx = await self.create(language)
                self.defaults[language] = ctx.id
            return ctx

    async def remove(self, context_id):
        ctx = self.contexts.pop(context_id, None)
        if ctx is None:
            return False
        for lang, cid in list(self.defaults.items()):
            if cid == context_id:
                del self.defaults[lang]
        await ctx.remove()
        return True

    async def start_defaults(self):
        """Warm python and javascript contexts, so a ready snapshot holds running kernels."""
        for language in ("python", "javascript"):
            try:
                await self.default_for(language)
            except BadRequest as err:
                log.warning("no default %s context: %s", language, err)

    async def stop_all(self):
        for context_id in list(self.contexts):
            await self.remove(context_id)
