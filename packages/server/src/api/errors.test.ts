import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { silentLogger as logger, SandboxdError } from '@sandboxd/common';
import Database from 'better-sqlite3';
import { toApiError } from './errors.js';

/** A real SQLITE_FULL: SQLite refuses to grow a database past max_page_count as it does a full disk. */
function sqliteFull(): unknown {
  const db = new Database(':memory:');
  try {
    db.exec('CREATE TABLE t (x TEXT)');
    db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true })}`);
    db.prepare('INSERT INTO t VALUES (?)').run('x'.repeat(10_000));
  } catch (err) {
    return err;
  } finally {
    db.close();
  }
  throw new Error('the insert did not fail');
}

/** A real ENOSPC: /dev/full refuses every write. */
function enospc(): unknown {
  try {
    fs.writeFileSync('/dev/full', 'x');
  } catch (err) {
    return err;
  }
  throw new Error('the write did not fail');
}

const storageExhausted = {
  status: 507,
  body: { code: 507, message: 'not enough free disk space on the host' },
  headers: {},
};

test('SQLITE_FULL from a store write answers 507 STORAGE_EXHAUSTED, not 500', () => {
  const err = sqliteFull();
  assert.equal((err as { code?: string }).code, 'SQLITE_FULL');
  assert.deepEqual(toApiError(err, logger), storageExhausted);
});

test('ENOSPC, bare or as the cause of a RUNTIME_FAILED, answers 507', () => {
  const err = enospc();
  assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
  assert.deepEqual(toApiError(err, logger), storageExhausted);
  const wrapped = new SandboxdError('RUNTIME_FAILED', 'failed to kill the sandbox', {
    cause: new Error('teardown failed', { cause: err }),
  });
  assert.deepEqual(toApiError(wrapped, logger), storageExhausted);
});

test('other failures keep their answer: an I/O error stays 500, a catalog refusal its own status', () => {
  const eio = Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR_WRITE' });
  assert.deepEqual(toApiError(eio, logger).body, { code: 500, message: 'internal error' });
  const runtime = new SandboxdError('RUNTIME_FAILED', 'failed to resume the sandbox; it stays paused with its state');
  assert.deepEqual(toApiError(runtime, logger).body, {
    code: 500,
    message: 'failed to resume the sandbox; it stays paused with its state',
  });
  // A 4xx caused by a full disk is still the 4xx (the client's answer does not change).
  const notFound = new SandboxdError('SANDBOX_NOT_FOUND', undefined, { cause: sqliteFull() });
  assert.equal(toApiError(notFound, logger).status, 404);
});
