import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildTempBundle, errorOf, RunnerProcess, resultText } from './runner-harness.js';

let bundle: Awaited<ReturnType<typeof buildTempBundle>>;
let work: string;
let runner: RunnerProcess;

before(async () => {
  bundle = await buildTempBundle();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'jsrun-cwd-'));
  runner = new RunnerProcess(process.execPath, [bundle.file], { cwd: work });
});

after(async () => {
  await runner?.stop();
  bundle?.dispose();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

const types = (events: { type: string }[]) => events.map((event) => event.type);

describe('results', () => {
  test('the last expression comes back as text/plain in util.inspect form, then done', async () => {
    assert.deepEqual(await runner.run('1 + 1'), [
      { id: 1, type: 'result', data: { 'text/plain': '2' } },
      { id: 1, type: 'done' },
    ]);
    assert.equal(resultText(await runner.run("'text'")), "'text'");
    assert.equal(
      resultText(await runner.run('({ a: [1, 2], b: new Map([[1, "x"]]) })')),
      "{ a: [ 1, 2 ], b: Map(1) { 1 => 'x' } }",
    );
    assert.equal(
      resultText(await runner.run('{ a: 1 }')),
      '{ a: 1 }',
      'a cell that is an object literal, as in a REPL',
    );
    assert.equal(resultText(await runner.run('if (true) { "then" } else { "else" }')), "'then'");
  });

  test('undefined and declarations give no result', async () => {
    assert.deepEqual(types(await runner.run('undefined')), ['done']);
    assert.deepEqual(types(await runner.run('const unused = 5')), ['done']);
    assert.deepEqual(types(await runner.run('console.log("only output")')), ['stdout', 'done']);
  });
});

describe('state', () => {
  test('top-level let, const, var, function and class persist across requests', async () => {
    await runner.run(
      'let a = 1; const b = 2; var c = 3; function twice(x) { return 2 * x } class Box { get v() { return 4 } }',
    );
    assert.equal(resultText(await runner.run('a + b + c + twice(5) + new Box().v')), '20');
    assert.equal(resultText(await runner.run('a += 1; a')), '2');
  });

  test('re-running a cell that declares const or class does not fail', async () => {
    for (let round = 0; round < 2; round++) {
      const events = await runner.run('const again = 7; class Again {}; again');
      assert.equal(errorOf(events), undefined, JSON.stringify(events));
      assert.equal(resultText(events), '7');
    }
  });

  test('require, import() and static imports work and stay bound', async () => {
    assert.equal(resultText(await runner.run("const os = require('os'); typeof os.cpus")), "'function'");
    assert.equal(resultText(await runner.run('os.EOL.length')), '1');
    const imported = await runner.run(
      "import path, { join as j } from 'node:path'; import * as nodeUtil from 'util'; j('a', 'b')",
    );
    assert.equal(resultText(imported), "'a/b'", JSON.stringify(imported));
    assert.equal(resultText(await runner.run("path.basename('/x/y') + typeof nodeUtil.inspect")), "'yfunction'");
    assert.equal(resultText(await runner.run("(await import('node:fs')).existsSync('/')")), 'true');
  });

  test('require and import() resolve from the current directory, also after process.chdir', async () => {
    const sub = path.join(work, 'sub');
    fs.mkdirSync(path.join(sub, 'node_modules/local-pkg'), { recursive: true });
    fs.writeFileSync(path.join(sub, 'node_modules/local-pkg/index.js'), 'module.exports = { hello: "pkg" };\n');
    fs.writeFileSync(path.join(sub, 'helper.mjs'), 'export const answer = 42;\n');
    const events = await runner.run(`process.chdir(${JSON.stringify(sub)}); process.cwd()`);
    assert.equal(resultText(events), `'${sub}'`);
    assert.equal(resultText(await runner.run("require('local-pkg').hello")), "'pkg'");
    assert.equal(resultText(await runner.run("(await import('./helper.mjs')).answer")), '42');
    assert.equal(resultText(await runner.run("(await import('local-pkg')).default.hello")), "'pkg'");
    await runner.run(`process.chdir(${JSON.stringify(work)})`);
  });
});

describe('top-level await', () => {
  test('awaited values, declarations and the last expression', async () => {
    const events = await runner.run('const waited = await new Promise((r) => setTimeout(() => r(21), 5));\nwaited * 2');
    assert.equal(resultText(events), '42');
    assert.equal(resultText(await runner.run('waited')), '21');
  });

  test('var in loops and blocks, destructuring and for await belong to the context', async () => {
    await runner.run(
      'for (var i = 0; i < 3; i++) { await null; var lastSeen = i }\nconst { p, q: [r] } = await Promise.resolve({ p: 1, q: [2] })\nlet none',
    );
    assert.equal(resultText(await runner.run('[i, lastSeen, p, r, none]')), '[ 3, 2, 1, 2, undefined ]');
    const events = await runner.run(
      'async function* gen() { yield 1; yield 2 }\nlet total = 0\nfor await (const n of gen()) total += n\ntotal',
    );
    assert.equal(resultText(events), '3');
    assert.equal(resultText(await runner.run('typeof gen')), "'function'");
  });

  test('a promise as the last value is shown, not awaited twice', async () => {
    assert.equal(resultText(await runner.run('await null; Promise.resolve(3)')), 'Promise { 3 }');
  });
});

describe('output streaming', () => {
  test('console and process streams come as stdout/stderr events in order', async () => {
    const events = await runner.run(
      "console.log('one', 1); console.error('two'); process.stdout.write('three\\n'); console.warn({ four: 4 }); console.info('five'); await null; process.stderr.write(Buffer.from('six')); 'end'",
    );
    assert.deepEqual(
      events.map((event) => [event.type, event.text ?? event.data?.['text/plain']]),
      [
        ['stdout', 'one 1\n'],
        ['stderr', 'two\n'],
        ['stdout', 'three\n'],
        ['stderr', '{ four: 4 }\n'],
        ['stdout', 'five\n'],
        ['stderr', 'six'],
        ['result', "'end'"],
        ['done', undefined],
      ],
    );
  });

  test('output arrives while a synchronous cell is still running', async () => {
    const flag = path.join(work, 'sync-go');
    const id = runner.send(
      `console.log('started'); while (!require('fs').existsSync(${JSON.stringify(flag)})) {} 'finished'`,
    );
    const seen = await runner.waitFor((events) => events.some((event) => event.id === id && event.type === 'stdout'));
    assert.equal(
      seen.some((event) => event.id === id && event.type === 'done'),
      false,
      'the cell is still running',
    );
    fs.writeFileSync(flag, '');
    assert.equal(resultText(await runner.eventsOf(id)), "'finished'");
  });

  test('output arrives while an async cell is still waiting', async () => {
    const flag = path.join(work, 'async-go');
    const id = runner.send(
      `console.log('waiting'); await new Promise((resolve) => { const t = setInterval(() => { if (require('fs').existsSync(${JSON.stringify(flag)})) { clearInterval(t); resolve() } }, 5) }); 'resumed'`,
    );
    const seen = await runner.waitFor((events) => events.some((event) => event.id === id && event.type === 'stdout'));
    assert.equal(
      seen.some((event) => event.id === id && event.type === 'done'),
      false,
    );
    fs.writeFileSync(flag, '');
    assert.equal(resultText(await runner.eventsOf(id)), "'resumed'");
  });
});

describe('errors', () => {
  test('a throw gives name, message as value and stack lines as traceback, without runner frames', async () => {
    const events = await runner.run('function inner() { throw new RangeError("too far") }\ninner()');
    assert.deepEqual(types(events), ['error', 'done']);
    const error = errorOf(events);
    assert.equal(error?.name, 'RangeError');
    assert.equal(error?.value, 'too far');
    assert.equal(error?.traceback?.[0], 'RangeError: too far');
    assert.match(error?.traceback?.[1] ?? '', /at inner \(<cell \d+>:1:\d+\)/);
    assert.ok(error?.traceback?.every((line) => !line.includes('js-runner.mjs') && !line.includes('node:vm')));
  });

  test('errors after an await, thrown non-errors and syntax errors', async () => {
    assert.equal(errorOf(await runner.run('await null; null.field'))?.name, 'TypeError');
    const thrown = errorOf(await runner.run("throw 'plain'"));
    assert.deepEqual([thrown?.name, thrown?.value], ['Error', 'plain']);
    const syntax = errorOf(await runner.run('let = = 2'));
    assert.equal(syntax?.name, 'SyntaxError');
    assert.ok(syntax?.value);
  });

  test('an unhandled rejection during a request is an error of that request', async () => {
    const events = await runner.run("Promise.reject(new Error('nobody caught me')); 'still ran'");
    assert.equal(resultText(events), "'still ran'");
    assert.equal(errorOf(events)?.value, 'nobody caught me');
    assert.equal(events.at(-1)?.type, 'done');
  });

  test('process.exit ends the request with an error and the context lives on', async () => {
    await runner.run('const beforeExit = 9');
    const error = errorOf(await runner.run("console.log('bye'); process.exit(2); 'not reached'"));
    assert.equal(error?.name, 'ProcessExit');
    assert.equal(resultText(await runner.run('beforeExit')), '9');
  });

  test('bad request lines answer a protocol error and done', async () => {
    runner.sendRaw('this is not json');
    const events = await runner.waitFor((all) => all.some((event) => event.id === null && event.type === 'done'));
    assert.equal(events.find((event) => event.id === null && event.type === 'error')?.name, 'ProtocolError');
    assert.equal(resultText(await runner.run('"after a bad line"')), "'after a bad line'");
  });
});

describe('interrupt', { timeout: 60_000 }, () => {
  test('SIGINT stops a synchronous infinite loop and the context keeps its state', async () => {
    await runner.run('const kept = "state"');
    const id = runner.send("console.log('looping'); while (true) {}");
    await runner.waitFor((events) => events.some((event) => event.id === id && event.type === 'stdout'));
    runner.child.kill('SIGINT');
    const events = await runner.eventsOf(id);
    assert.equal(errorOf(events)?.name, 'KeyboardInterrupt');
    assert.equal(events.at(-1)?.type, 'done');
    assert.equal(resultText(await runner.run('kept')), "'state'");
  });

  test('SIGINT ends a cell that waits on a promise that never settles', async () => {
    // Printed after the synchronous part: Node can lose a SIGINT that lands in the instant the
    // synchronous part ends (the server repeats the signal; see the README of the runner).
    const id = runner.send("await null; console.log('parked'); await new Promise(() => {})");
    await runner.waitFor((events) => events.some((event) => event.id === id && event.type === 'stdout'));
    // Repeated until the cell ends, as the server does: one SIGINT can be lost (see above).
    const ended = runner.eventsOf(id);
    runner.child.kill('SIGINT');
    const repeat = setInterval(() => runner.child.kill('SIGINT'), 250);
    const events = await ended.finally(() => clearInterval(repeat));
    assert.equal(errorOf(events)?.name, 'KeyboardInterrupt');
    assert.equal(resultText(await runner.run('1 + 2')), '3');
  });
});

describe('TypeScript', () => {
  test('type annotations, interfaces and enums are stripped per request language', async () => {
    const events = await runner.run(
      'interface Point { x: number }\nenum Color { Red, Green }\nconst pt: Point = { x: 2 }\nfunction area(p: Point): number { return p.x * p.x }\nconst n = await Promise.resolve<number>(1)\narea(pt) + Color.Green + n',
      { language: 'typescript' },
    );
    assert.equal(resultText(events), '6', JSON.stringify(events));
    assert.equal(resultText(await runner.run('area({ x: 3 })')), '9', 'names from the TypeScript cell stay bound');
    const bad = errorOf(await runner.run('const broken: = 1', { language: 'typescript' }));
    assert.equal(bad?.name, 'SyntaxError');
  });
});
