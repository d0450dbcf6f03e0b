"""What one matplotlib axis shows: its scale, its ticks, and data values in the axis' own terms.

matplotlib stores plotted data as floats (dates as day numbers, categories as 0, 1, 2, ...); the chart
data the clients read wants dates as ISO strings and categories as their names, so every value goes
through `AxisInfo.value` on the way out.
"""

import math
import re

from . import jsonsafe

# "Time (s)" -> "s", "Temperature [°C]" -> "°C": the unit is a trailing parenthesised or bracketed part.
_UNIT = re.compile(r"[(\[]\s*([^()\[\]]+?)\s*[)\]]\s*$")


def unit_of(label):
    match = _UNIT.search(label or "")
    return match.group(1) if match else None


class AxisInfo:
    def __init__(self, axis):
        self.axis = axis
        self.kind = _kind(axis)
        self._categories = _categories(axis) if self.kind == "categorical" else {}

    @property
    def scale(self):
        if self.kind in ("datetime", "categorical"):
            return self.kind
        return self.axis.get_scale()

    def value(self, v):
        """A plotted float as the clients should see it (number, ISO date string or category name)."""
        v = jsonsafe.number(v)
        if v is None or isinstance(v, bool):
            return v
        if self.kind == "datetime":
            return _date(v)
        if self.kind == "categorical":
            name = self._categories.get(round(v)) if abs(v - round(v)) < 1e-9 else None
            return name if name is not None else v
        return v

    def values(self, column):
        """`value` over a 1-D float array of finite numbers; plain axes take the fast path."""
        if self.kind == "plain":
            return column.tolist()
        return [self.value(v) for v in column.tolist()]

    def ticks(self):
        """(tick values, tick label strings) for the major ticks inside the view limits."""
        locs = self._visible_locs()
        try:
            labels = [_plain(str(t)) for t in self.axis.get_major_formatter().format_ticks(locs)]
        except Exception:
            labels = [str(self.value(loc)) for loc in locs]
        # Tick positions come out of float arithmetic (1.2000000000000002); 12 digits are plenty.
        values = [self.value(float(f"{loc:.12g}")) for loc in locs]
        return values, labels

    def _visible_locs(self):
        locs = [float(loc) for loc in self.axis.get_majorticklocs()]
        lo, hi = sorted(float(x) for x in self.axis.get_view_interval())
        slack = (hi - lo) * 1e-9
        return [loc for loc in locs if math.isfinite(loc) and lo - slack <= loc <= hi + slack]

    def label_at(self, position):
        """The name the axis gives a bar or box at `position`: its category, else the nearest tick's label."""
        if self.kind in ("categorical", "datetime"):
            # A bar at a date or a category is named by it (ISO date / category name), not by a nearby tick.
            name = self.value(position)
            if isinstance(name, str):
                return name
        locs = self._visible_locs()
        _, labels = self.ticks()
        if locs and len(locs) == len(labels):
            gaps = [b - a for a, b in zip(locs, locs[1:]) if b > a]
            reach = min(gaps) / 2 if gaps else math.inf
            best = min(range(len(locs)), key=lambda i: abs(locs[i] - position))
            if abs(locs[best] - position) <= reach + 1e-9 and labels[best] != "":
                return labels[best]
        shown = self.value(position)
        return shown if isinstance(shown, str) else f"{position:g}"


def _plain(label):
    # Log axes label ticks in mathtext ("$\mathdefault{10^{2}}$"); the clients want the text itself.
    if label.startswith("$") and label.endswith("$"):
        label = _MATHDEFAULT.sub(r"\1", label[1:-1])
    return label


_MATHDEFAULT = re.compile(r"\\mathdefault\{(.*)\}")


def _kind(axis):
    from matplotlib import category, dates

    converter = getattr(axis, "converter", None)
    if isinstance(converter, category.StrCategoryConverter):
        return "categorical"
    date_converters = tuple(
        c for c in (getattr(dates, "DateConverter", None), getattr(dates, "_SwitchableDateConverter", None)) if c
    )
    if date_converters and isinstance(converter, date_converters):
        return "datetime"
    formatter = axis.get_major_formatter()
    if isinstance(formatter, (dates.DateFormatter, dates.AutoDateFormatter, dates.ConciseDateFormatter)):
        return "datetime"
    return "plain"


def _categories(axis):
    mapping = getattr(getattr(axis, "units", None), "_mapping", None) or {}
    return {int(index): str(name) for name, index in mapping.items()}


def _date(day_number):
    from matplotlib import dates, rcParams

    try:
        when = dates.num2date(day_number)
    except (ValueError, OverflowError):
        return day_number
    # matplotlib reads naive datetimes as UTC (its default timezone); give them back naive as they came in.
    if str(rcParams.get("timezone", "UTC")) == "UTC":
        when = when.replace(tzinfo=None)
    return when.isoformat()
