import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Sandbox } from 'e2b';
import { startTestServer, type TestServer } from '../support/server-harness.js';
import { needsTemplates } from '../support/template-requirements.js';

// Issue #10: the built-in template `python-data-science` ("pandas, numpy, etc." in the E2B
// documentation) is base plus the Python data stack, and nothing listening: no execution server.
// Through the official `e2b` client, in one sandbox.

describe('template python-data-science', await needsTemplates('python-data-science'), () => {
  let server: TestServer;
  let sbx: Sandbox;
  before(async () => {
    server = await startTestServer();
    server.useForE2b();
    sbx = await Sandbox.create('python-data-science', { timeoutMs: 120_000 });
  });
  after(async () => {
    await sbx?.kill().catch(() => {});
    await server?.stop();
  });

  test('pandas, numpy, sklearn, matplotlib and scipy import', async () => {
    const run = await sbx.commands.run(
      "python3 -c 'import pandas, numpy, sklearn, matplotlib, scipy; print(pandas.__version__)'",
    );
    assert.equal(run.exitCode, 0, run.stderr);
    assert.match(run.stdout, /^\d+\.\d+\.\d+\n$/);
    assert.equal((await sbx.getInfo()).name, 'python-data-science');
  });

  test('they work together: a scikit-learn fit on a pandas frame, a matplotlib PNG without a display', async () => {
    const script = [
      'import io, numpy as np, pandas as pd, matplotlib',
      'matplotlib.use("Agg")',
      'import matplotlib.pyplot as plt',
      'from scipy import stats',
      'from sklearn.linear_model import LinearRegression',
      'df = pd.DataFrame({"x": np.arange(10.0)}); df["y"] = 3 * df.x + 1',
      'model = LinearRegression().fit(df[["x"]], df.y)',
      'buf = io.BytesIO(); plt.plot(df.x, df.y); plt.savefig(buf, format="png")',
      'print(round(model.coef_[0], 6), round(model.intercept_, 6), buf.getvalue()[:4] == b"\\x89PNG",',
      '      round(stats.pearsonr(df.x, df.y)[0], 6))',
    ].join('\n');
    await sbx.files.write('/home/user/fit.py', script);
    const run = await sbx.commands.run('python3 fit.py', { cwd: '/home/user' });
    assert.equal(run.exitCode, 0, run.stderr);
    assert.equal(run.stdout, '3.0 1.0 True 1.0\n');
  });

  test('no server on port 49999: not in the sandbox, not through the front end', async () => {
    const probe = await sbx.commands.run(
      'python3 -c \'import socket; print(socket.socket().connect_ex(("127.0.0.1", 49999)))\'',
    );
    assert.equal(probe.stdout, '111\n', 'connection refused (ECONNREFUSED) on 49999');
    const res = await fetch(`${server.url}/contexts`, {
      headers: { 'E2b-Sandbox-Id': sbx.sandboxId, 'E2b-Sandbox-Port': '49999' },
    });
    assert.equal(res.status, 502);
    assert.match(await res.text(), /port 49999 is not open/);
  });
});
