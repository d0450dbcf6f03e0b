import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { NotFoundError, SandboxError, TimeoutError } from '@e2b/code-interpreter';
import { buildJsRunnerBundle } from '../js-runner/build.js';
import { type LocalServer, needsInterpreterRootfs, startLocalServer } from './local-server.js';

// The execution server from this working tree, run in the template's rootfs (no sandbox), driven by the
// official @e2b/code-interpreter client.
const { skip } = await needsInterpreterRootfs();

describe('code-execution server with the official client (in the template rootfs)', { skip }, () => {
  let server: LocalServer;
  before(async () => {
    server = await startLocalServer();
  });
  after(() => server?.stop());

  test('health answers "OK" and the default python context exists from the start', async () => {
    const res = await fetch(`${server.url}/health`);
    assert.equal(res.status, 200);
    assert.equal(await res.json(), 'OK');
    const contexts = await server.client().listCodeContexts();
    assert.ok(contexts.some((c) => c.language === 'python' && c.cwd === server.home));
  });

  test('runCode: value, state across calls, execution count', async () => {
    const sbx = server.client();
    const first = await sbx.runCode('1+1');
    assert.equal(first.text, '2');
    assert.equal(first.error, undefined);
    await sbx.runCode('counter = 41');
    const next = await sbx.runCode('counter + 1');
    assert.equal(next.text, '42');
    assert.ok((next.executionCount ?? 0) > (first.executionCount ?? 0));
    const str = await sbx.runCode('"quoted"');
    assert.equal(str.text, 'quoted', 'a string result comes back without its repr quotes');
  });

  test('stdout and stderr reach the callbacks in order while the code still runs', async () => {
    const sbx = server.client();
    const flag = path.join(server.home, 'seen-first-line');
    const seen: string[] = [];
    // The code waits until the test saw its first line: only a streamed line can get it past the loop.
    const code = [
      'import os, sys, time',
      'print("one", flush=True)',
      `while not os.path.exists(${JSON.stringify(flag)}): time.sleep(0.02)`,
      'print("two", file=sys.stderr, flush=True)',
      'print("three ünïcödé ✓", flush=True)',
    ].join('\n');
    const exec = await sbx.runCode(code, {
      onStdout: (m) => {
        seen.push(`out:${m.line}`);
        fs.writeFileSync(flag, '');
      },
      onStderr: (m) => {
        seen.push(`err:${m.line}`);
      },
    });
    assert.deepEqual(seen, ['out:one\n', 'err:two\n', 'out:three ünïcödé ✓\n']);
    assert.deepEqual(exec.logs, { stdout: ['one\n', 'three ünïcödé ✓\n'], stderr: ['two\n'] });
  });

  test('an exception is execution.error with name, value and traceback (not a throw)', async () => {
    const exec = await server.client().runCode('def f():\n    raise ValueError("boom")\nf()');
    assert.equal(exec.error?.name, 'ValueError');
    assert.equal(exec.error?.value, 'boom');
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the traceback is ANSI-coloured, as Jupyter's is
    const plain = (exec.error?.traceback ?? '').replace(/\x1b\[[0-9;]*m/g, '');
    assert.match(plain, /ValueError: boom/);
    assert.match(plain, /in f\(\)/);
  });

  test('results: DataFrame as html and text, display() as a non-main result, json', async () => {
    const sbx = server.client();
    const df = await sbx.runCode('import pandas as pd\npd.DataFrame({"a": [1, 2], "b": ["x", "y"]})');
    const main = df.results.find((r) => r.isMainResult);
    assert.match(main?.html ?? '', /<table/);
    assert.match(main?.text ?? '', /a\s+b/);
    const shown = await sbx.runCode('from IPython.display import display, HTML, JSON\ndisplay(HTML("<b>hi</b>"))\n7');
    assert.equal(shown.results.length, 2);
    assert.equal(shown.results[0]?.isMainResult, false);
    assert.equal(shown.results[0]?.html, '<b>hi</b>');
    assert.equal(shown.text, '7');
    const json = await sbx.runCode('JSON({"k": [1, 2]})');
    assert.deepEqual(json.results[0]?.json, { k: [1, 2] });
  });

  test('timeoutMs interrupts an endless loop and the context stays usable', async () => {
    const sbx = server.client();
    const ctx = await sbx.createCodeContext();
    await sbx.runCode('kept = "state"', { context: ctx });
    await assert.rejects(sbx.runCode('while True: pass', { context: ctx, timeoutMs: 1_000 }), TimeoutError);
    const next = await sbx.runCode('kept', { context: ctx });
    assert.equal(next.text, 'state');
    assert.equal(next.error, undefined);
    await sbx.removeCodeContext(ctx);
  });

  test('contexts: isolated state, own cwd, restart clears state, list and remove', async () => {
    const sbx = server.client();
    const sub = path.join(server.home, 'sub');
    fs.mkdirSync(sub, { recursive: true });
    const a = await sbx.createCodeContext({ language: 'python' });
    const b = await sbx.createCodeContext({ cwd: sub });
    assert.equal(a.language, 'python');
    assert.equal(b.cwd, sub);
    await sbx.runCode('only_a = 1', { context: a });
    const inB = await sbx.runCode('only_a', { context: b });
    assert.equal(inB.error?.name, 'NameError');
    assert.equal((await sbx.runCode('import os; os.getcwd()', { context: b })).text, sub);

    // Two contexts run at the same time: b finishes while a is still busy.
    const slow = sbx.runCode('import time\nwhile not __import__("os").path.exists("b-done"): time.sleep(0.02)\n"a"', {
      context: a,
    });
    assert.equal((await sbx.runCode('open("../b-done", "w").close(); "b"', { context: b })).text, 'b');
    assert.equal((await slow).text, 'a');

    await sbx.restartCodeContext(a);
    assert.equal((await sbx.runCode('only_a', { context: a })).error?.name, 'NameError');

    const ids = (await sbx.listCodeContexts()).map((c) => c.id);
    assert.ok(ids.includes(a.id) && ids.includes(b.id));
    await sbx.removeCodeContext(a);
    await sbx.removeCodeContext(b.id);
    const left = (await sbx.listCodeContexts()).map((c) => c.id);
    assert.ok(!left.includes(a.id) && !left.includes(b.id));
    // (A short requestTimeoutMs: the client leaves that timer running when the answer is an error.)
    await assert.rejects(sbx.runCode('1', { context: a, requestTimeoutMs: 2_000 }), (err: unknown) => {
      assert.ok(err instanceof NotFoundError);
      assert.match(err.message, new RegExp(`Context ${a.id} not found`));
      return true;
    });
    await assert.rejects(sbx.restartCodeContext(a), NotFoundError);
    await assert.rejects(sbx.removeCodeContext(a), NotFoundError);
  });

  test('env vars: per call (then put back) and sandbox-wide from envd', async () => {
    const sbx = server.client();
    server.sandboxEnvs.SBX_WIDE = 'wide';
    server.sandboxEnvs.SHADOWED = 'global';
    const ctx = await sbx.createCodeContext();
    const read = 'import os\n[os.environ.get(k) for k in ("SBX_WIDE", "SHADOWED", "PER_CALL")]';
    const during = await sbx.runCode(read, { context: ctx, envs: { SHADOWED: 'call', PER_CALL: "it's" } });
    assert.equal(during.text, "['wide', 'call', \"it's\"]");
    const afterwards = await sbx.runCode(read, { context: ctx });
    assert.equal(afterwards.text, "['wide', 'global', None]");
    const child = await sbx.runCode(
      'import subprocess\nsubprocess.run(["sh", "-c", "echo $SBX_WIDE"], capture_output=True, text=True).stdout',
      {
        context: ctx,
      },
    );
    assert.equal(child.text, 'wide\\n', 'processes started from the code inherit them');
    await sbx.removeCodeContext(ctx);
  });

  test('after a restore (new boot id): generators reseeded, sandbox env vars read again', async () => {
    const sbx = server.client();
    const ctx = await sbx.createCodeContext();
    server.sandboxEnvs.RESTORED = 'before';
    const seeded = await sbx.runCode(
      'import random, numpy\nrandom.seed(7); numpy.random.seed(7)\nimport os; os.environ.get("RESTORED")',
      { context: ctx },
    );
    assert.equal(seeded.text, 'before');
    const expected = (
      await sbx.runCode('random.seed(7); numpy.random.seed(7); (random.random(), numpy.random.rand())', {
        context: ctx,
      })
    ).text;
    await sbx.runCode('random.seed(7); numpy.random.seed(7)', { context: ctx });
    server.sandboxEnvs.RESTORED = 'after';
    server.setBootId('boot-1');
    try {
      const drawn = await sbx.runCode('import os\n(random.random(), numpy.random.rand()), os.environ.get("RESTORED")', {
        context: ctx,
      });
      assert.ok(drawn.text?.endsWith("'after')"), drawn.text);
      assert.ok(!drawn.text?.startsWith(`(${expected}`), 'the seeded sequence did not survive the restore');
    } finally {
      server.setBootId('boot-0');
      await sbx.removeCodeContext(ctx);
    }
  });

  test('bad input: clear 4xx answers, never a 500', async () => {
    const post = (body: string) =>
      fetch(`${server.url}/execute`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    for (const [body, message] of [
      ['{nope', /not valid JSON/],
      ['[]', /JSON object/],
      ['{"code": 5}', /code must be a string/],
      ['{"code": "1", "context_id": "x", "language": "python"}', /Only one of context_id or language/],
      ['{"code": "1", "env_vars": {"A": 1}}', /must be a string/],
      ['{"code": "1", "language": 3}', /language must be a string/],
    ] as const) {
      const res = await post(body);
      assert.equal(res.status, 400, body);
      assert.match(await res.text(), message);
    }
    const missing = await post('{"code": "1", "context_id": "no-such"}');
    assert.equal(missing.status, 404);
    assert.equal(await missing.text(), 'Context no-such not found');
    const badCtx = await fetch(`${server.url}/contexts`, { method: 'POST', body: '{"cwd": "/no/such/dir"}' });
    assert.equal(badCtx.status, 400);
    const sbx = server.client();
    await assert.rejects(
      sbx.runCode('1', { language: 'cobol' as 'python', requestTimeoutMs: 2_000 }),
      (err: unknown) => {
        assert.ok(err instanceof SandboxError);
        assert.match(err.message, /400 Unsupported language 'cobol'/);
        return true;
      },
    );
    assert.equal((await fetch(`${server.url}/nowhere`)).status, 404);
    const preflight = await fetch(`${server.url}/execute`, { method: 'OPTIONS' });
    assert.equal(preflight.headers.get('access-control-allow-origin'), '*');
  });
});

// The Node runner is bundled from ../js-runner and runs on the template's Node (Debian 12's 18).
describe('JavaScript and TypeScript contexts through the server (in the template rootfs)', { skip }, () => {
  let server: LocalServer;
  let bundleDir: string;
  before(async () => {
    bundleDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ciserver-js-'));
    server = await startLocalServer({ jsRunner: await buildJsRunnerBundle(path.join(bundleDir, 'js-runner.mjs')) });
  });
  after(async () => {
    await server?.stop();
    if (bundleDir) fs.rmSync(bundleDir, { recursive: true, force: true });
  });

  test('the default javascript context exists from the start and keeps state', async () => {
    const sbx = server.client();
    assert.ok((await sbx.listCodeContexts()).some((c) => c.language === 'javascript'));
    await sbx.runCode('const base = 40', { language: 'javascript' });
    const exec = await sbx.runCode('console.log("sum"); console.error("warned"); base + 2', { language: 'js' });
    assert.equal(exec.text, '42');
    assert.deepEqual(exec.logs, { stdout: ['sum\n'], stderr: ['warned\n'] });
    const failed = await sbx.runCode('throw new RangeError("nope")', { language: 'javascript' });
    assert.equal(failed.error?.name, 'RangeError');
    assert.equal(failed.error?.value, 'nope');
  });

  test('typescript runs on the same runner; env vars and the timeout interrupt work', async () => {
    const sbx = server.client();
    server.sandboxEnvs.JS_WIDE = 'wide'; // read on the context's first execution
    const ts = await sbx.createCodeContext({ language: 'ts' });
    assert.equal(ts.language, 'typescript');
    const typed = await sbx.runCode('const n: number = 6; interface P { x: number }\nn * 7', { context: ts });
    assert.equal(typed.text, '42');
    const env = await sbx.runCode('process.env.JS_WIDE + "/" + process.env.JS_CALL', {
      context: ts,
      envs: { JS_CALL: 'call' },
    });
    assert.equal(env.text, 'wide/call');
    assert.equal((await sbx.runCode('String(process.env.JS_CALL)', { context: ts })).text, 'undefined');
    await assert.rejects(sbx.runCode('while (true) {}', { context: ts, timeoutMs: 1_000 }), TimeoutError);
    assert.equal((await sbx.runCode('n', { context: ts })).text, '6');
    await sbx.restartCodeContext(ts);
    assert.equal((await sbx.runCode('typeof n', { context: ts })).text, 'undefined');
    await sbx.removeCodeContext(ts);
  });
});
