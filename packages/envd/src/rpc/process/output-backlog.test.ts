import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OutputBacklog } from './output-backlog.js';

const chunk = (text: string) => ({ kind: 'stdout' as const, data: Buffer.from(text) });
const text = (backlog: OutputBacklog) =>
  backlog
    .take()
    .map((c) => Buffer.from(c.data).toString())
    .join('');

test('keeps the newest bytes when full, oldest first', () => {
  const backlog = new OutputBacklog(5);
  backlog.append(chunk('abc'));
  backlog.append(chunk('def'));
  assert.equal(backlog.size, 5);
  assert.equal(text(backlog), 'bcdef');
  assert.equal(backlog.size, 0);
  assert.equal(text(backlog), '');
});

test('chunks a client never received go back in front', () => {
  const backlog = new OutputBacklog(100);
  backlog.append(chunk('later'));
  backlog.prepend([chunk('first '), chunk('second ')]);
  assert.equal(text(backlog), 'first second later');
});
