"""Environment variables: per-call (`env_vars` on /execute) and sandbox-wide (envd's GET /envs).

Kernels start before the sandbox exists as such (the ready snapshot is taken with them running), so the
sandbox's env vars cannot be in the kernel's process environment. Instead each context applies them with a
small silent snippet in its own language on its first execution, and per-call vars are set before the
user's code and put back afterwards.
"""

import json
import logging
import os
import re

from tornado.httpclient import AsyncHTTPClient, HTTPClientError

log = logging.getLogger(__name__)

ENVD_URL = os.environ.get("SANDBOXD_ENVD_URL", "http://127.0.0.1:49983")
_BASH_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def validate(env_vars, language):
    """Returns an error message for an unusable map, else None."""
    if not isinstance(env_vars, dict):
        return "env_vars must be an object of string values"
    for key, value in env_vars.items():
        if not isinstance(value, str):
            return f"env var {key!r} must be a string"
        if not key or "=" in key or "\0" in key or "\0" in value:
            return f"env var name {key!r} is not valid"
        if language == "bash" and not _BASH_NAME.match(key):
            return f"env var name {key!r} is not a valid shell variable name"
    return None


def _sh_quote(value):
    return "'" + value.replace("'", "'\\''") + "'"


def set_code(language, env_vars):
    """Code that sets `env_vars` in a running context of `language` (None: nothing to do)."""
    if not env_vars:
        return None
    literal = json.dumps(env_vars)  # a JSON object of strings is also a valid Python/JS literal
    if language == "python":
        return f"__import__('os').environ.update({literal})"
    if language in ("javascript", "typescript"):
        return f"Object.assign(process.env, {literal});"
    if language == "bash":
        return "\n".join(f"export {k}={_sh_quote(v)}" for k, v in env_vars.items())
    if language == "r":
        pairs = ", ".join(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in env_vars.items())
        return f"invisible(do.call(Sys.setenv, list({pairs})))"
    return None


def unset_code(language, keys):
    if not keys:
        return None
    literal = json.dumps(list(keys))
    if language == "python":
        return f"[__import__('os').environ.pop(k, None) for k in {literal}]"
    if language in ("javascript", "typescript"):
        return f"{literal}.forEach((k) => {{ delete process.env[k]; }});"
    if language == "bash":
        return "unset " + " ".join(keys)
    if language == "r":
        return f"invisible(Sys.unsetenv(c({', '.join(json.dumps(k) for k in keys)})))"
    return None


def revert_code(language, env_vars, sandbox_envs):
    """Code that undoes a per-call `env_vars`: back to the sandbox-wide value, or unset."""
    restore = {k: sandbox_envs[k] for k in env_vars if k in sandbox_envs}
    drop = [k for k in env_vars if k not in sandbox_envs]
    parts = [c for c in (set_code(language, restore), unset_code(language, drop)) if c]
    return "\n".join(parts) or None


async def fetch_sandbox_envs(access_token):
    """envd's sandbox-wide env vars, or None when envd could not be asked (tried again next time)."""
    headers = {"X-Access-Token": access_token} if access_token else {}
    try:
        res = await AsyncHTTPClient().fetch(f"{ENVD_URL}/envs", headers=headers, request_timeout=5, connect_timeout=2)
        data = json.loads(res.body or b"{}")
    except (HTTPClientError, OSError, ValueError) as err:
        log.warning("could not read the sandbox env vars from envd: %s", err)
        return None
    if not isinstance(data, dict):
        return {}
    return {str(k): str(v) for k, v in data.items() if isinstance(v, str)}
