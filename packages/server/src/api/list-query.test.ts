import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeCursor, decodeMetadataFilter, encodeCursor, parseListQuery } from './list-query.js';

test('decodes the SDK triple-encoded metadata filter (after URL parsing removed one layer)', () => {
  // What the SDK builds for {"a b": "c&d", plain: "x"}: encodeURIComponent per part, then URLSearchParams.
  const inner = new URLSearchParams({ [encodeURIComponent('a b')]: encodeURIComponent('c&d'), plain: 'x' }).toString();
  assert.deepEqual(decodeMetadataFilter(inner), { 'a b': 'c&d', plain: 'x' });
  // The value the SDK sends on the wire for {"a b": "c&d"}, after one URL decode: a%2520b%3Dc%2526d
  assert.deepEqual(decodeMetadataFilter('a%2520b=c%2526d'), { 'a b': 'c&d' });
  assert.deepEqual(decodeMetadataFilter(undefined), {});
});

test('cursor round-trips and rejects garbage', () => {
  const token = encodeCursor({ startedAt: 123, id: 'abc' });
  assert.deepEqual(decodeCursor(token), { startedAt: 123, id: 'abc' });
  assert.throws(() => decodeCursor('garbage'), /nextToken/);
  assert.throws(() => decodeCursor(Buffer.from('{"a":1}').toString('base64url')), /nextToken/);
});

test('list query defaults and validation', () => {
  const q = parseListQuery('t', {}, 100);
  assert.equal(q.limit, 100);
  assert.equal(q.order, 'desc');
  assert.ok(q.states.includes('running') && q.states.includes('paused'));
  assert.deepEqual(parseListQuery('t', { state: 'paused' }, 100).states, ['paused']);
  assert.throws(() => parseListQuery('t', { limit: '101' }, 100), /limit/);
  assert.throws(() => parseListQuery('t', { limit: '1.5' }, 100), /limit/);
  assert.throws(() => parseListQuery('t', { order: 'sideways' }, 100), /order/);
  assert.equal(parseListQuery('t', { startedAfter: '1970-01-01T00:00:01.000Z' }, 100).startedAfter, 1000);
});
