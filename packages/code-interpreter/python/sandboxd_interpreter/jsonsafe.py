"""Turn Python values into plain JSON values (str keys, finite numbers, ISO dates) or refuse.

The execution server writes every result as one JSON line that JavaScript's JSON.parse reads, so a NaN,
a numpy scalar or a datetime must never reach it raw. Values we cannot represent faithfully make
`to_json` raise `Unsupported`; the formatters then leave the field out instead of inventing a string.
"""

import datetime
import decimal
import math
import uuid

# Recursion and size guards: a self-referencing list or a 10^8-element array must not stall the kernel.
MAX_DEPTH = 64
MAX_NODES = 1_000_000


class Unsupported(ValueError):
    pass


def number(value):
    """A finite float/int as a JSON number (ints stay ints), anything non-finite as None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(f):
        return None
    return int(f) if f.is_integer() and abs(f) < 2**53 else f


def iso(value):
    """A date/time (Python, numpy or pandas) as an ISO 8601 string; NaT as None."""
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        # pandas.NaT is a datetime subclass whose isoformat() is "NaT".
        text = value.isoformat()
        return None if text == "NaT" else text
    np = _numpy()
    if np is not None and isinstance(value, np.datetime64):
        if np.isnat(value):
            return None
        return str(np.datetime_as_string(value))
    if np is not None and isinstance(value, np.timedelta64):
        return None if np.isnat(value) else str(value)
    raise Unsupported(type(value).__name__)


def to_json(value):
    """A deep copy of `value` made only of dict/list/str/int/float/bool/None."""
    budget = [MAX_NODES]
    return _convert(value, 0, budget)


def _numpy():
    import sys

    return sys.modules.get("numpy")


def _pandas():
    import sys

    return sys.modules.get("pandas")


def _key(key):
    if isinstance(key, str):
        return key
    # The same spellings json.dumps gives these keys.
    if key is None:
        return "null"
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, (int, float)):
        return repr(key)
    np = _numpy()
    if np is not None and isinstance(key, np.generic):
        return _key(key.item())
    if isinstance(key, (datetime.datetime, datetime.date, datetime.time)):
        return iso(key) or "NaT"
    if isinstance(key, tuple):
        return str(key)
    raise Unsupported(f"key of type {type(key).__name__}")


def _convert(value, depth, budget):
    budget[0] -= 1
    if budget[0] < 0 or depth > MAX_DEPTH:
        raise Unsupported("too large or too deep")
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {_key(k): _convert(v, depth + 1, budget) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        return [_convert(v, depth + 1, budget) for v in items]
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return iso(value)
    if isinstance(value, decimal.Decimal):
        return number(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    np = _numpy()
    if np is not None:
        if isinstance(value, (np.datetime64, np.timedelta64)):
            return iso(value)
        if isinstance(value, np.ndarray):
            if value.size > budget[0]:
                raise Unsupported("array too large")
            return [_convert(v, depth + 1, budget) for v in value.tolist()]
        if isinstance(value, np.generic):
            return _convert(value.item(), depth, budget)
    pd = _pandas()
    if pd is not None:
        if value is pd.NaT or value is getattr(pd, "NA", None):
            return None
        if isinstance(value, pd.Timedelta):
            return value.isoformat()
    raise Unsupported(type(value).__name__)
