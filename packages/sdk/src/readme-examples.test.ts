import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';

// The README's lifecycle examples must be the code the end-to-end test runs: each block of its
// examples section has to appear in tests/e2e/sdk-docs-examples.test.ts, its lines in order (the
// test may put assertions between them), within a span not much longer than the block.

const readme = fs.readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const testSource = fs.readFileSync(new URL('../../../tests/e2e/sdk-docs-examples.test.ts', import.meta.url), 'utf8');

const codeLines = (code: string) =>
  code
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('import '));

function examplesSection(markdown: string): string {
  const start = markdown.indexOf('## Examples:');
  assert.ok(start >= 0, 'the README has an examples section');
  const next = markdown.indexOf('\n## ', start + 1);
  return markdown.slice(start, next < 0 ? undefined : next);
}

function blocks(section: string): string[] {
  return [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
}

/** Where `wanted` occurs in `haystack` in order, no two matches more than `maxGap` lines apart. */
function occursInOrder(haystack: string[], wanted: string[], maxGap: number): boolean {
  for (let start = 0; start < haystack.length; start++) {
    if (haystack[start] !== wanted[0]) continue;
    let at = start;
    let found = 1;
    for (; found < wanted.length; found++) {
      let next = at + 1;
      while (next < haystack.length && next - at <= maxGap && haystack[next] !== wanted[found]) next++;
      if (next >= haystack.length || haystack[next] !== wanted[found]) break;
      at = next;
    }
    if (found === wanted.length) return true;
  }
  return false;
}

test('every example block of the README runs in the end-to-end examples test', () => {
  const examples = blocks(examplesSection(readme));
  assert.ok(examples.length >= 19, `the section holds the page's examples (${examples.length} blocks)`);
  const source = codeLines(testSource);
  for (const example of examples) {
    const lines = codeLines(example);
    assert.ok(lines.length > 0);
    assert.ok(occursInOrder(source, lines, 4), `README example not found in the test:\n${example}`);
  }
});

test('the matcher finds lines in order with gaps and refuses them out of order', () => {
  const hay = ['a', 'x', 'b', 'c'];
  assert.equal(occursInOrder(hay, ['a', 'b', 'c'], 4), true);
  assert.equal(occursInOrder(hay, ['b', 'a'], 4), false);
  assert.equal(occursInOrder(['a', 'x', 'x', 'b'], ['a', 'b'], 1), false);
});
