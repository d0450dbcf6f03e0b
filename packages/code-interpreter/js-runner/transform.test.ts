import assert from 'node:assert/strict';
import { test } from 'node:test';
import vm from 'node:vm';
import { IMPORT_FUNCTION, prepareCell } from './src/transform.js';

test('a cell without top-level await stays a plain script with its declarations made re-declarable', () => {
  const cell = prepareCell('const a = 1\nlet b = 2\nclass K {}\na + b');
  assert.equal(cell.isAsync, false);
  assert.equal(cell.source, 'var a = 1\nvar b = 2\nvar K = class K {};\na + b');
});

test('a cell with top-level await declares its names outside the wrapper and returns its last value', () => {
  const cell = prepareCell('const x = await f()\nfunction g() {}\nx');
  assert.equal(cell.isAsync, true);
  assert.equal(
    cell.source,
    'var x, g; (async () => { globalThis["g"] = g; void (x = await f());\nfunction g() {}\nreturn { value: (x) };\n})()',
  );
});

test('line breaks stay where they were, so stack traces keep the user line numbers', () => {
  const code = 'await null\nconst { a, b: [c] } = o\nfor (var i of xs) {}\nimport d from "m"\nlast';
  const cell = prepareCell(code);
  assert.equal(cell.source.split('\n').length, code.split('\n').length + 1, 'only the wrapper end adds a line');
  assert.match(cell.source, /void \(\{ a, b: \[c\] \} = o\);/);
  assert.match(cell.source, /for \(i of xs\)/);
  assert.match(cell.source, new RegExp(`void \\(\\{default: d\\} = await ${IMPORT_FUNCTION}\\("m"\\)\\);`));
});

test('import() anywhere in a cell calls the runner loader, also inside functions', () => {
  const cell = prepareCell("const load = () => import('x'); load");
  assert.equal(cell.source, `var load = () => ${IMPORT_FUNCTION}('x'); load`);
});

test('what acorn cannot parse is left to V8, which names the syntax error', () => {
  const cell = prepareCell('let = = 1');
  assert.deepEqual(cell, { source: 'let = = 1', isAsync: false });
  assert.throws(() => new vm.Script(cell.source), SyntaxError);
});

test('every rewritten cell compiles', () => {
  const cells = [
    'let u, v = 1; for (var k in {}) {} if (1) { var w = 2 } await 0; u',
    'export const e = 1; export default 5',
    'import * as ns from "a"; import def, { x as y, "z w" as z } from "b"; import "c"; ns',
    '{ a: 1, b: [2] }',
    'const f = async () => { await 1 }; for await (const q of []) {} class C extends Object {}',
  ];
  for (const code of cells) {
    const { source } = prepareCell(code);
    assert.doesNotThrow(() => new vm.Script(source), `${code}\n→ ${source}`);
  }
});
