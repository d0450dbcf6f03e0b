"""Recognise box-and-whisker plots among an Axes' artists.

`Axes.boxplot` (and seaborn, which calls it) leaves no record on the Axes beyond its artists: per box a
closed outline (a Line2D, or a PathPatch with patch_artist=True), a median line across it, two whiskers
from the box edges along its centre line, caps, and flier markers on that same centre line. We look for
exactly that geometry, in either orientation, and read the statistics back from the coordinates.
"""

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import PathPatch

_EPS = 1e-9


def find_boxes(ax):
    """([box dicts with pos/min/first_quartile/median/third_quartile/max/outliers], artists used).

    `pos` is the box centre on the category axis; `vertical` says which axis that is.
    """
    lines = [ln for ln in ax.get_lines() if ln.get_visible()]
    outlines = [(artist, _points(artist)) for artist in lines + [p for p in ax.patches if isinstance(p, PathPatch)]]
    outlines = [(artist, pts) for artist, pts in outlines if pts is not None and _is_outline(pts)]
    boxes, used = [], set()
    segments = [(ln, _points(ln)) for ln in lines]
    segments = [(ln, pts) for ln, pts in segments if pts is not None and len(pts) == 2]
    for artist, pts in outlines:
        for vertical in (True, False):
            box = _read_box(pts, segments, lines, vertical, used)
            if box is not None:
                used.add(artist)
                boxes.append(box)
                break
    return boxes, used


def _points(artist):
    try:
        if isinstance(artist, Line2D):
            pts = np.asarray(artist.get_xydata(), dtype=float)
        else:
            pts = np.asarray(artist.get_path().vertices, dtype=float)
    except (TypeError, ValueError):
        return None
    if pts.ndim != 2 or pts.shape[1] != 2 or not np.isfinite(pts).all():
        return None
    return pts


def _is_outline(pts):
    # A plain box has 5 points, a notched one 11; both are closed.
    return len(pts) >= 5 and np.allclose(pts[0], pts[-1]) and np.ptp(pts[:, 0]) > 0 and np.ptp(pts[:, 1]) > 0


def _read_box(pts, segments, lines, vertical, used):
    # Work in (position, value) coordinates: position is x for an upright box, y for a horizontal one.
    pv = pts if vertical else pts[:, ::-1]
    left, right = pv[:, 0].min(), pv[:, 0].max()
    if len(pv) == 11:
        # Notched outline: q1, q1, notch, median, notch, q3, ...; the notch may reach past the quartiles.
        q1, q3 = sorted((pv[0, 1], pv[5, 1]))
    else:
        q1, q3 = pv[:, 1].min(), pv[:, 1].max()
    centre = (left + right) / 2
    tol = max(right - left, 1.0) * 1e-6

    whisker_lo = whisker_hi = None
    picked, across = [], []
    for ln, seg in segments:
        if ln in used:
            continue
        s = seg if vertical else seg[:, ::-1]
        (p0, v0), (p1, v1) = s
        if abs(v0 - v1) <= tol and q1 - tol <= v0 <= q3 + tol and abs((p0 + p1) / 2 - centre) <= tol * 10:
            # Median candidates; caps can look alike when a whisker has zero length.
            inside = q1 + tol < v0 < q3 - tol
            across.append((abs(p1 - p0), inside, v0, ln))
        elif abs(p0 - centre) <= tol and abs(p1 - centre) <= tol and v0 != v1:
            near, far = (v0, v1) if min(abs(v0 - q1), abs(v0 - q3)) <= min(abs(v1 - q1), abs(v1 - q3)) else (v1, v0)
            if abs(near - q1) <= tol and far <= near and whisker_lo is None:
                whisker_lo = far
                picked.append(ln)
            elif abs(near - q3) <= tol and far >= near and whisker_hi is None:
                whisker_hi = far
                picked.append(ln)
    if not across or (whisker_lo is None and whisker_hi is None):
        return None
    _, _, median, median_line = max(across, key=lambda c: (c[0], c[1]))
    picked.append(median_line)

    low = whisker_lo if whisker_lo is not None else q1
    high = whisker_hi if whisker_hi is not None else q3
    outliers = []
    for ln in lines:
        if ln in used or ln in picked or not _marker_only(ln):
            continue
        s = _points(ln)
        if s is None or len(s) == 0:
            continue
        s = s if vertical else s[:, ::-1]
        if np.all(np.abs(s[:, 0] - centre) <= max(tol, (right - left) * 0.5)):
            picked.append(ln)
            if not (len(s) == 1 and _mean_marker(ln)):
                outliers.extend(float(v) for v in s[:, 1] if v < low - tol or v > high + tol)
    # Caps: short segments across the centre at the whisker ends.
    for ln, seg in segments:
        if ln in used or ln in picked:
            continue
        s = seg if vertical else seg[:, ::-1]
        if abs(s[0, 1] - s[1, 1]) <= tol and min(s[:, 0]) <= centre <= max(s[:, 0]):
            if any(abs(s[0, 1] - end) <= tol for end in (low, high)):
                picked.append(ln)
    used.update(picked)
    return {
        "pos": float(centre),
        "vertical": vertical,
        "min": float(low),
        "first_quartile": float(q1),
        "median": float(median),
        "third_quartile": float(q3),
        "max": float(high),
        "outliers": sorted(outliers),
    }


def _marker_only(line):
    blank = ("none", "", " ")
    return str(line.get_linestyle()).lower() in blank and str(line.get_marker()).lower() not in blank


def _mean_marker(line):
    # showmeans=True adds a one-point line per box; only its marker style tells it from a single flier.
    from matplotlib import rcParams

    mean, flier = rcParams["boxplot.meanprops.marker"], rcParams["boxplot.flierprops.marker"]
    return mean != flier and line.get_marker() == mean
