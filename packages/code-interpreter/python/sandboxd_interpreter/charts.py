"""matplotlib Figure -> the chart object the E2B code-interpreter clients expose as `result.chart`.

Shape: {type, title, elements} plus, for 2-D charts, x_label/y_label/x_unit/y_unit; line and scatter
charts also carry ticks, tick labels and scales. The Python client reads the 2-D keys with [] (not
.get), so they are always present, null when unknown. One Axes gives one chart; several give a
"superchart" whose elements are the per-Axes charts. Nothing here may raise into the user's cell:
`figure_to_chart` answers {} when the figure cannot be read at all.
"""

from . import jsonsafe
from .axes_info import AxisInfo, unit_of
from .boxplots import find_boxes

_NO_STYLE = ("none", "", " ")


def figure_to_chart(figure):
    try:
        return _figure(figure)
    except Exception:
        return {}


def _figure(figure):
    axes = [ax for ax in figure.get_axes() if ax.get_visible() and not _is_colorbar(ax)]
    if not axes:
        return {}
    drawn = [ax for ax in axes if _has_content(ax)]
    suptitle = _text(getattr(figure, "_suptitle", None))
    if len(drawn) <= 1:
        chart = _axes_chart(drawn[0] if drawn else axes[0])
        if not chart["title"] and suptitle:
            chart["title"] = suptitle
        return chart
    return {"type": "superchart", "title": suptitle, "elements": [_axes_chart(ax) for ax in drawn]}


def _axes_chart(ax):
    try:
        return _classify(ax)
    except Exception:
        return _base(ax, "unknown")


def _classify(ax):
    if getattr(ax, "name", "") == "3d":
        # Its lines hold only the x/y part of the data; a 2-D chart of that would mislead.
        return _base(ax, "unknown")
    wedges = _wedges(ax)
    if wedges:
        chart = _base(ax, "pie")
        chart["elements"] = wedges
        return chart
    boxes, used = find_boxes(ax)
    if boxes:
        return _box_chart(ax, boxes)
    bars = [c for c in ax.containers if type(c).__name__ == "BarContainer"]
    if bars:
        return _bar_chart(ax, bars)
    return _point_chart(ax, used)


def _base(ax, kind):
    title = ax.get_title() or ax.get_title(loc="left") or ax.get_title(loc="right")
    return {"type": kind, "title": title, "elements": []}


def _base_2d(ax, kind):
    chart = _base(ax, kind)
    x_label, y_label = ax.get_xlabel(), ax.get_ylabel()
    chart.update(
        x_label=x_label or None,
        y_label=y_label or None,
        x_unit=unit_of(x_label),
        y_unit=unit_of(y_label),
    )
    return chart


def _wedges(ax):
    from matplotlib.patches import Wedge

    out = []
    for w in ax.patches:
        if isinstance(w, Wedge) and w.get_visible():
            out.append(
                {
                    "label": _label(w.get_label()),
                    "angle": jsonsafe.number(abs(w.theta2 - w.theta1)),
                    "radius": jsonsafe.number(w.r),
                }
            )
    return out


def _box_chart(ax, boxes):
    chart = _base_2d(ax, "box_and_whisker")
    for box in sorted(boxes, key=lambda b: b["pos"]):
        axis = AxisInfo(ax.xaxis if box["vertical"] else ax.yaxis)
        element = {"label": axis.label_at(box["pos"])}
        for key in ("min", "first_quartile", "median", "third_quartile", "max"):
            element[key] = jsonsafe.number(box[key])
        element["outliers"] = [jsonsafe.number(v) for v in box["outliers"]]
        chart["elements"].append(element)
    return chart


def _bar_chart(ax, containers):
    chart = _base_2d(ax, "bar")
    x, y = AxisInfo(ax.xaxis), AxisInfo(ax.yaxis)
    for container in containers:
        group = _label(container.get_label())
        values = getattr(container, "datavalues", None)
        vertical = getattr(container, "orientation", "vertical") != "horizontal"
        for i, bar in enumerate(container.patches):
            if not bar.get_visible():
                continue
            if vertical:
                label = x.label_at(bar.get_x() + bar.get_width() / 2)
                value = bar.get_height()
            else:
                label = y.label_at(bar.get_y() + bar.get_height() / 2)
                value = bar.get_width()
            if values is not None and i < len(values):
                # The plotted value, not the drawn extent: stacked segments keep their own value.
                value = values[i]
            chart["elements"].append({"label": label, "value": jsonsafe.number(value), "group": group})
    return chart


def _point_chart(ax, used):
    x, y = AxisInfo(ax.xaxis), AxisInfo(ax.yaxis)
    caps, names = _errorbars(ax)
    used = set(used) | caps
    series, any_line = [], False
    for line in ax.get_lines():
        if line in used or not line.get_visible() or not _in_data_coords(line, ax):
            continue
        points = _pairs(line.get_xydata(), x, y)
        if not points:
            continue
        any_line = any_line or str(line.get_linestyle()).lower() not in _NO_STYLE
        series.append({"label": _label(names.get(line, line.get_label())), "points": points})
    for coll in ax.collections:
        if type(coll).__name__ != "PathCollection" or not coll.get_visible():
            continue
        points = _pairs(coll.get_offsets(), x, y)
        if points:
            series.append({"label": _label(coll.get_label()), "points": points})
    if not series:
        return _base(ax, "unknown")
    chart = _base_2d(ax, "line" if any_line else "scatter")
    x_ticks, x_tick_labels = x.ticks()
    y_ticks, y_tick_labels = y.ticks()
    chart.update(
        x_ticks=x_ticks,
        x_tick_labels=x_tick_labels,
        x_scale=x.scale,
        y_ticks=y_ticks,
        y_tick_labels=y_tick_labels,
        y_scale=y.scale,
        elements=series,
    )
    return chart


def _pairs(xy, x, y):
    import numpy as np

    try:
        arr = np.ma.filled(np.ma.asarray(xy, dtype=float), np.nan)
    except (TypeError, ValueError):
        return []
    if arr.ndim != 2 or arr.shape[1] != 2:
        return []
    # matplotlib skips non-finite points when drawing; so do we.
    arr = arr[np.isfinite(arr).all(axis=1)]
    if x.kind == y.kind == "plain":
        return arr.tolist()
    return [list(pair) for pair in zip(x.values(arr[:, 0]), y.values(arr[:, 1]))]


def _errorbars(ax):
    """(cap lines, {data line: label}) of errorbar() plots.

    errorbar() draws its caps as marker-only lines (decoration, not series) and puts the label on its
    container rather than on the data line.
    """
    caps, names = set(), {}
    for container in ax.containers:
        if type(container).__name__ != "ErrorbarContainer" or not container.lines:
            continue
        data_line = container.lines[0]
        if data_line is not None:
            names[data_line] = container.get_label()
        if len(container.lines) > 1:
            caps.update(container.lines[1] or ())
    return caps, names


def _in_data_coords(artist, ax):
    # axhline/axvline and friends are drawn in axes coordinates on one side: reference lines, not data.
    transform = artist.get_transform()
    return transform is ax.transData or transform == ax.transData


def _has_content(ax):
    return bool(ax.lines or ax.collections or ax.patches or ax.images or ax.containers)


def _is_colorbar(ax):
    return getattr(ax, "_colorbar", None) is not None or ax.get_label() == "<colorbar>"


def _label(label):
    # matplotlib names unlabelled artists "_child0", "_container1", ...: internal, not for the user.
    label = "" if label is None else str(label)
    return "" if label.startswith("_") else label


def _text(artist):
    try:
        return artist.get_text() if artist is not None and artist.get_visible() else ""
    except Exception:
        return ""
