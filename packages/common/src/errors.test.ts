import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { errorCatalog, SandboxdError } from './errors.js';
import { httpStatusForKind } from './http-status.js';

const docs = fs.readFileSync(
  path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../docs/errors.md'),
  'utf8',
);

test('docs/errors.md lists every catalog code with its kind and HTTP status, and nothing else', () => {
  const documented = new Map<string, { kind: string; status: number }>();
  for (const m of docs.matchAll(/^\|\s*`([A-Z_]+)`\s*\|\s*([a-z-]+)\s*\|\s*(\d{3})\s*\|/gm)) {
    documented.set(m[1] ?? '', { kind: m[2] ?? '', status: Number(m[3]) });
  }
  for (const [code, entry] of Object.entries(errorCatalog)) {
    const status = httpStatusForKind(entry.kind);
    assert.deepEqual(
      documented.get(code),
      { kind: entry.kind, status },
      `${code} is documented as ${entry.kind}, ${status}`,
    );
  }
  assert.deepEqual([...documented.keys()].sort(), Object.keys(errorCatalog).sort());
});

test('SandboxdError carries code and kind, and is recognised across copies', () => {
  const err = new SandboxdError('SANDBOX_NOT_FOUND', 'sandbox x not found', { cause: new Error('inner') });
  assert.equal(err.code, 'SANDBOX_NOT_FOUND');
  assert.equal(err.kind, 'not-found');
  assert.ok(SandboxdError.is(err));
  assert.ok(!SandboxdError.is(new Error('plain')));
  assert.equal(new SandboxdError('INTERNAL').message, 'internal error');
});
