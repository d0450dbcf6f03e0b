"""Turn kernel output into the JSON lines the E2B code-interpreter clients parse."""

from datetime import datetime, timezone

# MIME type -> field name on the wire. Anything else goes into `extra`.
MIME_FIELDS = {
    "text/plain": "text",
    "text/html": "html",
    "text/markdown": "markdown",
    "image/svg+xml": "svg",
    "image/png": "png",
    "image/jpeg": "jpeg",
    "application/pdf": "pdf",
    "text/latex": "latex",
    "application/json": "json",
    "application/javascript": "javascript",
    "e2b/data": "data",
    "e2b/chart": "chart",
}


def _strip_quotes(text):
    # The clients show a string result without its repr quotes: 'abc' -> abc.
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def result_line(bundle, is_main_result):
    """A MIME bundle (execute_result / display_data) -> a `result` line."""
    line = {"type": "result", "is_main_result": bool(is_main_result)}
    extra = {}
    for mime, value in (bundle or {}).items():
        field = MIME_FIELDS.get(mime)
        if field is None:
            extra[mime] = value
            continue
        if value is None:
            continue
        if field == "text" and isinstance(value, str):
            value = _strip_quotes(value)
        if field in ("png", "jpeg") and isinstance(value, str):
            # Jupyter base64 may carry line breaks; the clients expect one plain base64 string.
            value = value.replace("\n", "")
        line[field] = value
    line["extra"] = extra
    return line


def stream_line(name, text, when=None):
    """A stdout/stderr chunk. The timestamp is the kernel's message date (ISO 8601)."""
    if not isinstance(when, datetime):
        when = datetime.now(timezone.utc)
    elif when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return {"type": "stderr" if name == "stderr" else "stdout", "text": text, "timestamp": when.isoformat()}


def error_line(name, value, traceback):
    if isinstance(traceback, list):
        # Kernels send the traceback as a list of (ANSI-coloured) chunks; the clients want one string.
        traceback = "\n".join(str(part) for part in traceback)
    # bash_kernel reports a failing last command with an empty name and the exit status as the value.
    return {"type": "error", "name": str(name or "Error"), "value": str(value or ""), "traceback": str(traceback or "")}


def count_line(execution_count):
    return {"type": "number_of_executions", "execution_count": execution_count}


END = {"type": "end_of_execution"}
KEEPALIVE = {"type": "keepalive"}
