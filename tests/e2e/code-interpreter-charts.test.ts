import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type {
  BarChart,
  BoxAndWhiskerChart,
  Execution,
  LineChart,
  PieChart,
  Result,
  ScatterChart,
  SuperChart,
} from '@e2b/code-interpreter';
import { CommandExitError, Sandbox } from '@e2b/code-interpreter';
import { startTestServer, type TestServer } from '../support/server-harness.js';
import { needsTemplates } from '../support/template-requirements.js';

// Issue #10: rich results from Python code, read through the official @e2b/code-interpreter client:
// matplotlib figures as PNG images plus the structured chart data (`result.chart`), DataFrames as
// `result.data` and HTML, lists/dicts as `result.json`. All in one code-interpreter sandbox.

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const unitTests = path.join(repoRoot, 'packages/code-interpreter/python/tests/test_rich_results.py');
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Width and height from a base64 PNG's IHDR chunk, after checking the signature. */
function pngSize(base64: string): { width: number; height: number } {
  const bytes = Buffer.from(base64, 'base64');
  assert.ok(bytes.subarray(0, 8).equals(PNG_SIGNATURE), 'the result decodes to a PNG');
  assert.equal(bytes.subarray(12, 16).toString('latin1'), 'IHDR', 'the first chunk is IHDR');
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

/** The one result of `code` that has a chart; fails with the execution's error or logs otherwise. */
function chartResult(execution: Execution): Result {
  assert.equal(execution.error, undefined, `no error: ${execution.error?.traceback}`);
  const withChart = execution.results.filter((r) => r.chart);
  assert.equal(withChart.length, 1, `one chart result (got ${execution.results.length} results)`);
  return withChart[0] as Result;
}

const needsCodeInterpreter = await needsTemplates('code-interpreter-v1');

describe('@e2b/code-interpreter rich results: PNG figures, chart data, DataFrames', needsCodeInterpreter, () => {
  let server: TestServer;
  let sbx: Sandbox;
  before(async () => {
    server = await startTestServer();
    server.useForE2b();
    sbx = await Sandbox.create({ timeoutMs: 600_000 });
  });
  after(async () => {
    await sbx?.kill().catch(() => {});
    await server?.stop();
  });

  test('plt.show() gives a display PNG of figsize*dpi pixels with chart data; a Figure value is the main result', async () => {
    // A context of its own: the bbox setting below (exact figure size instead of the inline
    // backend's tight crop) must not leak into the other tests.
    const ctx = await sbx.createCodeContext();
    const shown = await sbx.runCode(
      [
        '%config InlineBackend.print_figure_kwargs = {"bbox_inches": None}',
        'import matplotlib.pyplot as plt',
        'plt.figure(figsize=(4, 3), dpi=50)',
        'plt.plot([1, 2, 3], [1, 4, 9])',
        'plt.show()',
      ].join('\n'),
      { context: ctx },
    );
    const shownResult = chartResult(shown);
    assert.equal(shownResult.isMainResult, false, 'plt.show() is a display, not the cell value');
    assert.deepEqual(pngSize(shownResult.png ?? ''), { width: 200, height: 150 });
    assert.equal(shownResult.text, '<Figure size 200x150 with 1 Axes>');
    assert.ok(shownResult.formats().includes('png'));
    assert.equal(shownResult.chart?.type, 'line');

    const value = await sbx.runCode('fig, ax = plt.subplots(figsize=(3, 2), dpi=100)\nax.bar(["a"], [1])\nfig', {
      context: ctx,
    });
    assert.equal(value.error, undefined);
    const main = value.results.find((r) => r.isMainResult);
    assert.ok(main?.png, 'the Figure value has a PNG');
    assert.deepEqual(pngSize(main.png), { width: 300, height: 200 });
    assert.equal(main.chart?.type, 'bar');
  });

  test('the default inline output is a tight-cropped PNG no larger than the figure', async () => {
    const run = await sbx.runCode(
      'import matplotlib.pyplot as plt\nplt.figure(figsize=(5, 4))\nplt.plot([0, 1], [0, 1])\nplt.show()',
    );
    const { width, height } = pngSize(chartResult(run).png ?? '');
    assert.ok(width > 250 && width <= 500 && height > 200 && height <= 400, `cropped size ${width}x${height}`);
  });

  test('line chart: title, labels, units, scales, ticks and points', async () => {
    const run = await sbx.runCode(`
import matplotlib.pyplot as plt
fig, ax = plt.subplots()
ax.plot([0, 1, 2, 3], [0, 1, 4, 9], label="squares")
ax.plot([0, 1, 2, 3], [0, 1, 8, 27], label="cubes")
ax.set_title("Powers")
ax.set_xlabel("Time (s)")
ax.set_ylabel("Distance [m]")
plt.show()`);
    const chart = chartResult(run).chart as LineChart;
    assert.equal(chart.type, 'line');
    assert.equal(chart.title, 'Powers');
    assert.equal(chart.x_label, 'Time (s)');
    assert.equal(chart.y_label, 'Distance [m]');
    assert.equal(chart.x_unit, 's');
    assert.equal(chart.y_unit, 'm');
    assert.equal(chart.x_scale, 'linear');
    assert.equal(chart.y_scale, 'linear');
    assert.equal(chart.x_ticks.length, chart.x_tick_labels.length);
    assert.ok(chart.x_ticks.includes(1), `x ticks ${JSON.stringify(chart.x_ticks)}`);
    assert.deepEqual(
      chart.elements.map((e) => e.label),
      ['squares', 'cubes'],
    );
    assert.deepEqual(chart.elements[0]?.points, [
      [0, 0],
      [1, 1],
      [2, 4],
      [3, 9],
    ]);
  });

  test('bar chart: one element per bar with its category label, value and group', async () => {
    // The bar example from E2B's documentation, plus a second group.
    const run = await sbx.runCode(`
import matplotlib.pyplot as plt
import numpy as np
authors = ['Author A', 'Author B', 'Author C']
x = np.arange(len(authors))
plt.figure(figsize=(10, 6))
plt.bar(x - 0.2, [100, 200, 300], 0.4, label='Books Sold')
plt.bar(x + 0.2, [50, 60, 70], 0.4, label='Books Returned')
plt.xticks(x, authors)
plt.xlabel('Authors')
plt.ylabel('Number of Books Sold')
plt.title('Book Sales by Authors')
plt.show()`);
    const chart = chartResult(run).chart as BarChart;
    assert.equal(chart.type, 'bar');
    assert.equal(chart.title, 'Book Sales by Authors');
    assert.equal(chart.x_label, 'Authors');
    assert.equal(chart.y_label, 'Number of Books Sold');
    assert.deepEqual(chart.elements, [
      { label: 'Author A', value: 100, group: 'Books Sold' },
      { label: 'Author B', value: 200, group: 'Books Sold' },
      { label: 'Author C', value: 300, group: 'Books Sold' },
      { label: 'Author A', value: 50, group: 'Books Returned' },
      { label: 'Author B', value: 60, group: 'Books Returned' },
      { label: 'Author C', value: 70, group: 'Books Returned' },
    ]);
  });

  test('scatter chart: points of each collection, categorical and log axes named', async () => {
    const run = await sbx.runCode(`
import matplotlib.pyplot as plt
fig, ax = plt.subplots()
ax.scatter([1, 10, 100], [2, 3, 5], label="samples")
ax.set_xscale("log")
ax.set_title("Spread")
ax.set_xlabel("Dose")
plt.show()`);
    const chart = chartResult(run).chart as ScatterChart;
    assert.equal(chart.type, 'scatter');
    assert.equal(chart.title, 'Spread');
    assert.equal(chart.x_label, 'Dose');
    assert.equal(chart.x_scale, 'log');
    assert.deepEqual(chart.elements, [
      {
        label: 'samples',
        points: [
          [1, 2],
          [10, 3],
          [100, 5],
        ],
      },
    ]);
  });

  test('pie chart: one wedge per slice with label, angle and radius', async () => {
    const run = await sbx.runCode(`
import matplotlib.pyplot as plt
plt.pie([25, 25, 50], labels=["red", "green", "blue"])
plt.title("Colours")
plt.show()`);
    const chart = chartResult(run).chart as PieChart;
    assert.equal(chart.type, 'pie');
    assert.equal(chart.title, 'Colours');
    assert.deepEqual(
      chart.elements.map((e) => e.label),
      ['red', 'green', 'blue'],
    );
    const angles = chart.elements.map((e) => Math.round(e.angle * 1000) / 1000);
    assert.deepEqual(angles, [90, 90, 180]);
    assert.ok(chart.elements.every((e) => e.radius === 1));
  });

  test('box-and-whisker chart: quartiles, whisker ends and outliers per box', async () => {
    const run = await sbx.runCode(`
import matplotlib.pyplot as plt
plt.boxplot([[1, 2, 3, 4, 5, 20], [10, 11, 12, 13, 14]], labels=["first", "second"])
plt.title("Spread")
plt.ylabel("Score (pts)")
plt.show()`);
    const chart = chartResult(run).chart as BoxAndWhiskerChart;
    assert.equal(chart.type, 'box_and_whisker');
    assert.equal(chart.title, 'Spread');
    assert.equal(chart.y_unit, 'pts');
    assert.deepEqual(chart.elements, [
      { label: 'first', min: 1, first_quartile: 2.25, median: 3.5, third_quartile: 4.75, max: 5, outliers: [20] },
      { label: 'second', min: 10, first_quartile: 11, median: 12, third_quartile: 13, max: 14, outliers: [] },
    ]);
  });

  test('several axes give a superchart of per-axes charts', async () => {
    const run = await sbx.runCode(`
import matplotlib.pyplot as plt
fig, (left, right) = plt.subplots(1, 2)
left.plot([1, 2, 3])
left.set_title("trend")
right.pie([1, 3])
fig.suptitle("Dashboard")
plt.show()`);
    const chart = chartResult(run).chart as SuperChart;
    assert.equal(chart.type, 'superchart');
    assert.equal(chart.title, 'Dashboard');
    assert.deepEqual(
      chart.elements.map((c) => [c.type, c.title]),
      [
        ['line', 'trend'],
        ['pie', ''],
      ],
    );
  });

  test('a DataFrame gives result.data (dates as ISO strings, NaN as null), HTML and text', async () => {
    const run = await sbx.runCode(`
import pandas as pd
pd.DataFrame({"city": ["Oslo", "Rome"], "temp": [3.5, float("nan")], "day": pd.to_datetime(["2024-01-01", "2024-07-01"])})`);
    assert.equal(run.error, undefined);
    const [result] = run.results;
    assert.ok(result?.isMainResult);
    assert.deepEqual(result.data, {
      city: ['Oslo', 'Rome'],
      temp: [3.5, null],
      day: ['2024-01-01T00:00:00', '2024-07-01T00:00:00'],
    });
    assert.match(result.html ?? '', /<table[^>]*class="dataframe"/);
    assert.match(result.html ?? '', /<td>Oslo<\/td>/);
    assert.match(run.text ?? '', /city\s+temp\s+day/);
  });

  test('list and dict values also come back as JSON; PIL images saved to a file are displayed', async () => {
    const list = await sbx.runCode('[1, 2.5, None, {"a": float("nan")}]');
    assert.deepEqual(list.results[0]?.json, [1, 2.5, null, { a: null }]);
    const saved = await sbx.runCode(
      'from PIL import Image\nImage.new("RGB", (24, 12), "red").save("/tmp/red.png")\nprint("saved")',
    );
    assert.equal(saved.error, undefined);
    assert.deepEqual(saved.logs.stdout, ['saved\n']);
    assert.equal(saved.results.length, 1);
    assert.deepEqual(pngSize(saved.results[0]?.png ?? ''), { width: 24, height: 12 });
  });

  test('the chart extraction unit tests pass inside the sandbox', async () => {
    const dir = '/tmp/rich-results-tests';
    await sbx.files.write(`${dir}/test_rich_results.py`, fs.readFileSync(unitTests, 'utf8'));
    // A failing unittest exits 1 (CommandExitError); its output is what explains the failure.
    const run = await sbx.commands
      .run('python3 -m unittest -v test_rich_results 2>&1', {
        cwd: dir,
        envs: { PYTHONPATH: '/opt/sandboxd/interpreter' },
        timeoutMs: 120_000,
      })
      .catch((err: unknown) => (err instanceof CommandExitError ? err : Promise.reject(err)));
    assert.equal(run.exitCode, 0, run.stdout);
    assert.match(run.stdout, /\nOK\s*$/, run.stdout);
    const ran = Number(/Ran (\d+) tests/.exec(run.stdout)?.[1]);
    assert.ok(ran >= 18, `ran ${ran} tests:\n${run.stdout}`);
  });
});
