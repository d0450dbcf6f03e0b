"""Rich results in the Python kernels: the extra MIME types the E2B clients read, and inline figures.

- `e2b/data`: a pandas DataFrame as {column: [values]} (dates as ISO strings) -> `result.data`
- `e2b/chart`: a matplotlib Figure as chart data (see charts.py) -> `result.chart`
- `application/json` for list and dict values -> `result.json`
- matplotlib draws with the inline backend, so `plt.show()` or a Figure value gives an image/png result
- PIL: `Image.save(path)` and `Image.show()` also display the image

Every formatter returns None (the MIME type is left out) rather than raise: a formatter error would
otherwise show up as a traceback in the user's cell.
"""

import importlib.util
import os
import sys
import warnings

from IPython.core.formatters import BaseFormatter
from traitlets import Unicode

from . import charts, jsonsafe

INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


class _SelfSelectingFormatter(BaseFormatter):
    """Picks its objects itself instead of through IPython's per-type registry.

    matplotlib's inline backend, when it loads, removes every formatter's entry for Figure; a
    registry entry for our chart formatter would silently vanish on the first plot.
    """

    def __call__(self, obj):
        if not self.enabled:
            return None
        try:
            return self.convert(obj)
        except Exception:
            return None

    def convert(self, obj):
        raise NotImplementedError


class DataFormatter(_SelfSelectingFormatter):
    MIME = "e2b/data"
    format_type = Unicode(MIME)

    def convert(self, obj):
        pd = sys.modules.get("pandas")
        if pd is None or not isinstance(obj, pd.DataFrame):
            return None
        with warnings.catch_warnings():
            # Duplicate column names make to_dict warn; that warning is not the user's business here.
            warnings.simplefilter("ignore")
            columns = obj.to_dict(orient="list")
        try:
            return jsonsafe.to_json(columns)
        except jsonsafe.Unsupported:
            return None


class ChartFormatter(_SelfSelectingFormatter):
    MIME = "e2b/chart"
    format_type = Unicode(MIME)

    def convert(self, obj):
        figure = sys.modules.get("matplotlib.figure")
        if figure is None or not isinstance(obj, figure.Figure):
            return None
        return charts.figure_to_chart(obj) or None


def json_value(obj):
    """application/json for a list or dict result, or None when it holds something JSON cannot say."""
    try:
        return jsonsafe.to_json(obj)
    except (jsonsafe.Unsupported, RecursionError):
        return None


def figure_png(fig):
    # Until the inline backend loads (a Figure built without pyplot), PNG it the way the backend would.
    from IPython.core.pylabtools import print_figure

    try:
        return print_figure(fig, "png", base64=True)
    except Exception:
        return None


def install(shell):
    """Set everything up in `shell` (the kernel's InteractiveShell). Safe to call twice."""
    formatters = shell.display_formatter.formatters
    for cls in (DataFormatter, ChartFormatter):
        if not isinstance(formatters.get(cls.MIME), cls):
            formatters[cls.MIME] = cls(parent=shell.display_formatter)
    json_formatter = formatters.get("application/json")
    if json_formatter is not None:
        json_formatter.for_type(list, json_value)
        json_formatter.for_type(dict, json_value)
    png_formatter = formatters.get("image/png")
    if png_formatter is not None:
        png_formatter.for_type_by_name("matplotlib.figure", "Figure", figure_png)
    _choose_matplotlib_backend(shell)
    _pil_displays_images()


def _choose_matplotlib_backend(shell):
    backend = os.environ.get("MPLBACKEND", "")
    inline_ok = importlib.util.find_spec("matplotlib_inline") is not None
    if backend == INLINE_BACKEND and inline_ok:
        return
    if not backend and inline_ok and hasattr(shell, "kernel"):
        os.environ["MPLBACKEND"] = INLINE_BACKEND
        return
    if not backend or (backend == INLINE_BACKEND and not inline_ok):
        # No display in a sandbox: without the inline backend, draw off-screen rather than fail.
        os.environ["MPLBACKEND"] = "Agg"


def _pil_displays_images():
    try:
        from PIL import Image, ImageShow
    except ImportError:
        return
    from IPython.display import display

    original = Image.Image.save
    if getattr(original, "_sandboxd_displays", False):
        return

    def save(self, fp, format=None, **params):
        result = original(self, fp, format, **params)
        if isinstance(fp, (str, os.PathLike)):
            display(self)
        return result

    save._sandboxd_displays = True
    save.__doc__ = original.__doc__
    save.__wrapped__ = original
    Image.Image.save = save

    class InlineViewer(ImageShow.Viewer):
        # There is no screen in a sandbox: show() displays the image as a result instead of
        # launching an external viewer.
        def show(self, image, **options):
            display(image)
            return 1

    ImageShow.register(InlineViewer(), order=-1)
