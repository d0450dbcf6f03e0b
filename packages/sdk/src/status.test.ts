import assert from 'node:assert/strict';
import { test } from 'node:test';
import { statusOf } from './status.js';

test("the server's phase maps onto the four statuses; an older server without phase falls back to state", () => {
  assert.equal(statusOf('creating', 'running'), 'creating');
  for (const phase of ['running', 'pausing', 'resuming']) assert.equal(statusOf(phase, 'running'), 'running');
  assert.equal(statusOf('paused', 'paused'), 'paused');
  assert.equal(statusOf(undefined, 'paused'), 'paused');
  assert.equal(statusOf(undefined, 'running'), 'running');
});
