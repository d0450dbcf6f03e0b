import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { InvalidArgumentError, NotFoundError, Sandbox, SandboxError, TimeoutError } from '@e2b/code-interpreter';
import { startTestServer, type TestServer } from '../support/server-harness.js';
import { needsTemplates } from '../support/template-requirements.js';

// Issue #10 acceptance: the official @e2b/code-interpreter package, unchanged, against a real server and
// real code-interpreter-v1 sandboxes (the execution server on port 49999 inside them).
// biome-ignore lint/suspicious/noControlCharactersInRegex: Jupyter tracebacks are ANSI-coloured
const plain = (text: string | undefined) => (text ?? '').replace(/\x1b\[[0-9;]*m/g, '');

describe('@e2b/code-interpreter against sandboxd', await needsTemplates('code-interpreter-v1'), () => {
  let server: TestServer;
  let sbx: Sandbox;
  before(async () => {
    server = await startTestServer();
    server.useForE2b();
    sbx = await Sandbox.create({ timeoutMs: 300_000 });
  });
  after(async () => {
    await sbx?.kill().catch(() => {});
    await server?.stop();
  });

  test('runCode("1+1") gives text 2, and state is kept across calls', async () => {
    const exec = await sbx.runCode('1+1');
    assert.equal(exec.text, '2');
    assert.equal(exec.error, undefined);
    await sbx.runCode('x = 20');
    assert.equal((await sbx.runCode('x * 2 + 2')).text, '42');
    const where = await sbx.runCode('import os, getpass; (os.getcwd(), getpass.getuser())');
    assert.equal(where.text, "('/home/user', 'user')");
  });

  test('stdout and stderr reach the callbacks in order while the code runs', async () => {
    const seen: string[] = [];
    // The code only gets past its loop once the test, in its onStdout callback, created the file.
    const code = [
      'import os, sys, time',
      'print("first", flush=True)',
      'while not os.path.exists("/tmp/streamed"): time.sleep(0.02)',
      'print("second", file=sys.stderr, flush=True)',
      'print("third ✓", flush=True)',
    ].join('\n');
    const exec = await sbx.runCode(code, {
      onStdout: async (m) => {
        seen.push(`out:${m.line}`);
        if (m.line === 'first\n') await sbx.files.write('/tmp/streamed', '');
      },
      onStderr: (m) => {
        seen.push(`err:${m.line}`);
      },
    });
    assert.deepEqual(seen, ['out:first\n', 'err:second\n', 'out:third ✓\n']);
    assert.deepEqual(exec.logs.stdout, ['first\n', 'third ✓\n']);
    assert.deepEqual(exec.logs.stderr, ['second\n']);
  });

  test('an exception gives error.name, value and a traceback', async () => {
    const exec = await sbx.runCode('def boom():\n    return 1 / 0\nboom()');
    assert.equal(exec.error?.name, 'ZeroDivisionError');
    assert.equal(exec.error?.value, 'division by zero');
    assert.match(plain(exec.error?.traceback), /in boom\(\)/);
    assert.match(plain(exec.error?.traceback), /ZeroDivisionError: division by zero/);
  });

  test('a pandas DataFrame gives an HTML and a text result', async () => {
    const exec = await sbx.runCode('import pandas as pd\npd.DataFrame({"city": ["Oslo", "Lima"], "n": [1, 2]})');
    assert.equal(exec.error, undefined);
    const main = exec.results.find((r) => r.isMainResult);
    assert.match(main?.html ?? '', /<table[\s\S]*Oslo[\s\S]*Lima/);
    assert.match(main?.text ?? '', /city\s+n/);
  });

  test('JavaScript and Bash contexts keep their own state', async () => {
    const js = await sbx.createCodeContext({ language: 'javascript' });
    assert.equal(js.language, 'javascript');
    await sbx.runCode('const greeting = "hi from node"', { context: js });
    const out = await sbx.runCode('console.log(greeting); greeting.length', { context: js });
    assert.deepEqual(out.logs.stdout, ['hi from node\n']);
    assert.equal(out.text, '12');
    const byLanguage = await sbx.runCode('[1, 2, 3].map((n) => n * 2).join(",")', { language: 'js' });
    assert.match(byLanguage.text ?? '', /2,4,6/);

    const bash = await sbx.createCodeContext({ language: 'bash' });
    await sbx.runCode('WORD=kept; cd /tmp', { context: bash });
    const shell = await sbx.runCode('echo "$WORD in $(pwd) as $(whoami)"', { context: bash });
    assert.deepEqual(shell.logs.stdout, ['kept in /tmp as user\n']);
    await sbx.removeCodeContext(js);
    await sbx.removeCodeContext(bash);
  });

  test('R and TypeScript contexts run too', async () => {
    const r = await sbx.createCodeContext({ language: 'r' });
    assert.equal(r.language, 'r');
    await sbx.runCode('squares <- (1:4)^2', { context: r });
    const sum = await sbx.runCode('sum(squares)', { context: r });
    assert.equal(sum.error, undefined);
    // IRkernel shows a value as display data (text, HTML, Markdown, LaTeX), not as the cell's main result.
    assert.equal(sum.results[0]?.text, '[1] 30');
    assert.equal(sum.results[0]?.html, '30');
    const failed = await sbx.runCode('stop("no such thing")', { context: r });
    assert.match(failed.error?.value ?? '', /no such thing/);
    await sbx.removeCodeContext(r);

    const typed = await sbx.runCode('const n: number = 21; n * 2', { language: 'typescript' });
    assert.equal(typed.error, undefined);
    assert.equal(typed.text, '42');
  });

  test('timeoutMs interrupts `while True: pass` and the next call in that context works', async () => {
    const ctx = await sbx.createCodeContext();
    await sbx.runCode('survivor = "still here"', { context: ctx });
    await assert.rejects(sbx.runCode('while True: pass', { context: ctx, timeoutMs: 2_000 }), TimeoutError);
    const next = await sbx.runCode('survivor', { context: ctx });
    assert.equal(next.error, undefined);
    assert.equal(next.text, 'still here');
    await sbx.removeCodeContext(ctx);
  });

  test("two contexts don't share state; restart clears it; list and remove", async () => {
    const a = await sbx.createCodeContext({ cwd: '/tmp' });
    const b = await sbx.createCodeContext({ language: 'python' });
    assert.equal(a.cwd, '/tmp');
    assert.equal(b.cwd, '/home/user');
    await sbx.runCode('secret = 1', { context: a });
    assert.equal((await sbx.runCode('secret', { context: b })).error?.name, 'NameError');
    assert.equal((await sbx.runCode('secret', { context: a })).text, '1');
    assert.equal((await sbx.runCode('import os; os.getcwd()', { context: a })).text, '/tmp');

    await sbx.restartCodeContext(a);
    assert.equal((await sbx.runCode('secret', { context: a })).error?.name, 'NameError');

    const listed = await sbx.listCodeContexts();
    const ids = listed.map((c) => c.id);
    assert.ok(ids.includes(a.id) && ids.includes(b.id));
    assert.ok(
      listed.some((c) => c.language === 'javascript'),
      'the default javascript context exists',
    );
    await sbx.removeCodeContext(a);
    await sbx.removeCodeContext(b.id);
    assert.ok(!(await sbx.listCodeContexts()).some((c) => c.id === a.id || c.id === b.id));
    // (A short requestTimeoutMs: the client leaves that timer running when the answer is an error.)
    await assert.rejects(sbx.runCode('1', { context: a, requestTimeoutMs: 5_000 }), (err: unknown) => {
      assert.ok(err instanceof NotFoundError);
      assert.match(err.message, new RegExp(`Context ${a.id} not found`));
      return true;
    });
    await assert.rejects(sbx.removeCodeContext(a), NotFoundError);
  });

  test('bad input: unknown language, context and language together, malformed bodies', async () => {
    await assert.rejects(
      sbx.runCode('1', { language: 'cobol' as 'python', requestTimeoutMs: 5_000 }),
      (err: unknown) => {
        assert.ok(err instanceof SandboxError);
        assert.match(err.message, /^400 Unsupported language 'cobol'/);
        return true;
      },
    );
    // The types forbid both; a JavaScript caller can still pass them, and the client refuses before sending.
    const both = { context: { id: 'x', language: 'python', cwd: '/' }, language: 'python' } as { language: 'python' };
    await assert.rejects(sbx.runCode('1', both), InvalidArgumentError);
    // Straight to port 49999 through the front end, the way the client addresses it.
    const headers = {
      'E2b-Sandbox-Id': sbx.sandboxId,
      'E2b-Sandbox-Port': '49999',
      'content-type': 'application/json',
    };
    for (const body of ['{not json', '{"code": 1}', '["code"]']) {
      const res = await fetch(`${server.url}/execute`, { method: 'POST', headers, body });
      assert.equal(res.status, 400, body);
      assert.ok((await res.text()).length > 0);
    }
    const raw = await fetch(`${server.url}/execute`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ code: '1', context_id: 'x', language: 'python' }),
    });
    assert.equal(raw.status, 400);
    assert.equal(await raw.text(), 'Only one of context_id or language can be provided');
  });

  test('env vars: per call (gone afterwards) and sandbox-wide from Sandbox.create({envs})', async (t) => {
    const withEnvs = await Sandbox.create({ envs: { SANDBOX_WIDE: 'from-create', SHADOW: 'sandbox' } });
    t.after(() => withEnvs.kill());
    const read = 'import os\n[os.environ.get(k) for k in ("SANDBOX_WIDE", "SHADOW", "PER_CALL")]';
    const during = await withEnvs.runCode(read, { envs: { PER_CALL: 'yes', SHADOW: 'call' } });
    assert.equal(during.text, "['from-create', 'call', 'yes']");
    assert.equal((await withEnvs.runCode(read)).text, "['from-create', 'sandbox', None]");
    const js = await withEnvs.runCode('process.env.SANDBOX_WIDE + "/" + process.env.PER_CALL', {
      language: 'javascript',
      envs: { PER_CALL: 'js' },
    });
    assert.match(js.text ?? '', /from-create\/js/);
    const bash = await withEnvs.runCode('echo "$SANDBOX_WIDE"', { language: 'bash' });
    assert.deepEqual(bash.logs.stdout, ['from-create\n']);
  });
});
