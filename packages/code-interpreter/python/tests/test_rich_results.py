"""Unit tests for chart extraction and the rich-result formatters (stdlib unittest, no pytest needed).

They need matplotlib, numpy, pandas and IPython, so they run where those live: inside a
code-interpreter sandbox (tests/e2e/code-interpreter-charts.test.ts uploads and runs this file), or on
a host with the same Debian packages: `PYTHONPATH=packages/code-interpreter/python python3 -m unittest
discover -s packages/code-interpreter/python/tests`.
"""

import datetime
import json
import math
import unittest

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sandboxd_interpreter import jsonsafe  # noqa: E402
from sandboxd_interpreter.charts import figure_to_chart  # noqa: E402


def chart_of(fig):
    chart = figure_to_chart(fig)
    plt.close(fig)
    # Whatever comes out must be strict JSON (no NaN), as the clients parse it with JSON.parse.
    return json.loads(json.dumps(chart, allow_nan=False))


class ChartTypes(unittest.TestCase):
    def test_line_chart_with_labels_units_ticks(self):
        fig, ax = plt.subplots()
        ax.plot([0, 1, 2], [0, 1, 4], label="squares")
        ax.plot([0, 1, 2], [0, 2, 4])
        ax.axhline(1)  # a reference line, not a data series
        ax.set_title("Growth")
        ax.set_xlabel("Time (s)")
        ax.set_ylabel("Distance [m]")
        chart = chart_of(fig)
        self.assertEqual(chart["type"], "line")
        self.assertEqual(chart["title"], "Growth")
        self.assertEqual((chart["x_label"], chart["x_unit"]), ("Time (s)", "s"))
        self.assertEqual((chart["y_label"], chart["y_unit"]), ("Distance [m]", "m"))
        self.assertEqual([e["label"] for e in chart["elements"]], ["squares", ""])
        self.assertEqual(chart["elements"][0]["points"], [[0, 0], [1, 1], [2, 4]])
        self.assertEqual(chart["x_scale"], "linear")
        self.assertIn(1, chart["x_ticks"])
        self.assertEqual([float(label) for label in chart["x_tick_labels"]], chart["x_ticks"])

    def test_scatter_and_marker_only_lines(self):
        fig, ax = plt.subplots()
        ax.scatter([1, 2, 3], [3, 2, 1], label="pts")
        ax.plot([4], [4], "o", label="more")
        chart = chart_of(fig)
        self.assertEqual(chart["type"], "scatter")
        labels = {e["label"]: e["points"] for e in chart["elements"]}
        self.assertEqual(labels["pts"], [[1, 3], [2, 2], [3, 1]])
        self.assertEqual(labels["more"], [[4, 4]])

    def test_bar_chart_groups_and_categories(self):
        fig, ax = plt.subplots()
        x = np.arange(2)
        ax.bar(x - 0.2, [1, 2], 0.4, label="2023")
        ax.bar(x + 0.2, [3, 4.5], 0.4, label="2024")
        ax.set_xticks(x, ["north", "south"])
        ax.set_ylabel("Sales (k$)")
        chart = chart_of(fig)
        self.assertEqual(chart["type"], "bar")
        self.assertEqual(chart["y_unit"], "k$")
        self.assertEqual(
            chart["elements"],
            [
                {"label": "north", "value": 1, "group": "2023"},
                {"label": "south", "value": 2, "group": "2023"},
                {"label": "north", "value": 3, "group": "2024"},
                {"label": "south", "value": 4.5, "group": "2024"},
            ],
        )

    def test_horizontal_bars_on_a_categorical_axis(self):
        fig, ax = plt.subplots()
        ax.barh(["a", "b"], [5, 6])
        chart = chart_of(fig)
        self.assertEqual(chart["type"], "bar")
        self.assertEqual([(e["label"], e["value"]) for e in chart["elements"]], [("a", 5), ("b", 6)])

    def test_pie_wedges(self):
        fig, ax = plt.subplots()
        ax.pie([1, 1, 2], labels=["x", "y", "z"])
        ax.set_title("Share")
        chart = chart_of(fig)
        self.assertEqual(chart["type"], "pie")
        self.assertEqual(chart["title"], "Share")
        self.assertEqual([e["label"] for e in chart["elements"]], ["x", "y", "z"])
        angles = [e["angle"] for e in chart["elements"]]
        for got, want in zip(angles, [90, 90, 180]):
            self.assertAlmostEqual(got, want, places=3)
        self.assertEqual({e["radius"] for e in chart["elements"]}, {1})

    def test_box_and_whisker_both_orientations(self):
        data = [[1, 2, 3, 4, 5, 20], [10, 11, 12, 13, 14]]
        for vert, patch in ((True, False), (False, True)):
            with self.subTest(vert=vert):
                fig, ax = plt.subplots()
                ax.boxplot(data, labels=["a", "b"], vert=vert, patch_artist=patch)
                ax.set_title("Spread")
                chart = chart_of(fig)
                self.assertEqual(chart["type"], "box_and_whisker")
                self.assertEqual(chart["title"], "Spread")
                a, b = chart["elements"]
                self.assertEqual(a["label"], "a")
                self.assertEqual(
                    [a[k] for k in ("min", "first_quartile", "median", "third_quartile", "max")],
                    [1, 2.25, 3.5, 4.75, 5],
                )
                self.assertEqual(a["outliers"], [20])
                self.assertEqual((b["label"], b["median"], b["outliers"]), ("b", 12, []))

    def test_notched_boxes_with_mean_markers(self):
        fig, ax = plt.subplots()
        ax.boxplot([[1, 2, 3, 4, 100]], notch=True, showmeans=True)
        (box,) = chart_of(fig)["elements"]
        self.assertEqual([box[k] for k in ("first_quartile", "median", "third_quartile")], [2, 3, 4])
        self.assertEqual(box["outliers"], [100])  # the mean (22) is not an outlier

    def test_errorbars_are_one_labelled_series(self):
        fig, ax = plt.subplots()
        ax.errorbar([1, 2], [3, 4], yerr=[0.5, 0.5], capsize=3, label="measured")
        chart = chart_of(fig)
        self.assertEqual(chart["type"], "line")
        self.assertEqual(chart["elements"], [{"label": "measured", "points": [[1, 3], [2, 4]]}])

    def test_bars_at_dates_are_named_by_date(self):
        fig, ax = plt.subplots()
        ax.bar(pd.to_datetime(["2024-03-01", "2024-03-02"]), [1, 2])
        labels = [e["label"] for e in chart_of(fig)["elements"]]
        self.assertEqual(labels, ["2024-03-01T00:00:00", "2024-03-02T00:00:00"])

    def test_dates_and_categories_come_back_as_strings(self):
        fig, ax = plt.subplots()
        ax.plot(pd.to_datetime(["2024-01-01", "2024-01-02"]), [1, 2])
        chart = chart_of(fig)
        self.assertEqual(chart["x_scale"], "datetime")
        self.assertEqual(chart["elements"][0]["points"], [["2024-01-01T00:00:00", 1], ["2024-01-02T00:00:00", 2]])
        fig, ax = plt.subplots()
        ax.plot(["mon", "tue"], [3, 4])
        chart = chart_of(fig)
        self.assertEqual(chart["x_scale"], "categorical")
        self.assertEqual(chart["elements"][0]["points"], [["mon", 3], ["tue", 4]])
        self.assertEqual(chart["x_ticks"], ["mon", "tue"])

    def test_log_scale_and_missing_points(self):
        fig, ax = plt.subplots()
        ax.plot([1, 2, 3], [1, float("nan"), 100])
        ax.set_yscale("log")
        chart = chart_of(fig)
        self.assertEqual(chart["y_scale"], "log")
        self.assertEqual(chart["elements"][0]["points"], [[1, 1], [3, 100]])
        self.assertTrue(all("mathdefault" not in label for label in chart["y_tick_labels"]))

    def test_several_axes_make_a_superchart(self):
        fig, (left, right) = plt.subplots(1, 2)
        left.plot([1, 2])
        right.bar(["u"], [3])
        fig.suptitle("Overview")
        chart = chart_of(fig)
        self.assertEqual(chart["type"], "superchart")
        self.assertEqual(chart["title"], "Overview")
        self.assertEqual([c["type"] for c in chart["elements"]], ["line", "bar"])

    def test_unreadable_figures_never_raise(self):
        fig, ax = plt.subplots()
        ax.imshow(np.eye(3))
        ax.set_title("image")
        self.assertEqual(chart_of(fig), {"type": "unknown", "title": "image", "elements": []})
        self.assertEqual(chart_of(plt.figure()), {})
        fig = plt.figure()
        fig.add_subplot(projection="3d").plot([1, 2], [3, 4], [5, 6])
        self.assertEqual(chart_of(fig)["type"], "unknown")
        self.assertEqual(figure_to_chart(object()), {})


class JsonSafe(unittest.TestCase):
    def test_values_become_plain_json(self):
        value = {
            1: np.int64(3),
            "f": [1.5, float("nan"), np.float32(2.0), math.inf],
            "t": datetime.datetime(2024, 5, 6, 7, 8, 9),
            "d": np.datetime64("2024-01-02"),
            "nat": pd.NaT,
            "arr": np.arange(3),
            None: (True, None),
        }
        self.assertEqual(
            jsonsafe.to_json(value),
            {
                "1": 3,
                "f": [1.5, None, 2.0, None],
                "t": "2024-05-06T07:08:09",
                "d": "2024-01-02",
                "nat": None,
                "arr": [0, 1, 2],
                "null": [True, None],
            },
        )

    def test_refuses_what_it_cannot_say(self):
        with self.assertRaises(jsonsafe.Unsupported):
            jsonsafe.to_json([object()])
        loop = []
        loop.append(loop)
        with self.assertRaises(jsonsafe.Unsupported):
            jsonsafe.to_json(loop)


class Formatters(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        from IPython.core.interactiveshell import InteractiveShell

        from sandboxd_interpreter import formatters

        cls.shell = InteractiveShell.instance()
        formatters.install(cls.shell)
        formatters.install(cls.shell)  # twice is harmless

    def bundle(self, obj):
        data, _ = self.shell.display_formatter.format(obj)
        return data

    def test_dataframe_data(self):
        df = pd.DataFrame({"a": [1, 2], "when": pd.to_datetime(["2024-01-01", None]), "x": [0.5, float("nan")]})
        data = self.bundle(df)
        self.assertEqual(data["e2b/data"], {"a": [1, 2], "when": ["2024-01-01T00:00:00", None], "x": [0.5, None]})
        self.assertIn("<table", data["text/html"])

    def test_lists_and_dicts_get_json(self):
        self.assertEqual(self.bundle({"k": [1, float("nan")]})["application/json"], {"k": [1, None]})
        self.assertNotIn("application/json", self.bundle([object()]))

    def test_figures_get_png_and_chart(self):
        fig, ax = plt.subplots(figsize=(2, 1), dpi=50)
        ax.plot([1, 2], label="l")
        data = self.bundle(fig)
        plt.close(fig)
        self.assertEqual(data["e2b/chart"]["type"], "line")
        self.assertTrue(data["image/png"].startswith("iVBORw0KGgo"))


if __name__ == "__main__":
    unittest.main()
