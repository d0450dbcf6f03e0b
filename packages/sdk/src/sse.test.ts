import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SseParser } from './sse.js';

test('parses events split across chunks anywhere, with CRLF, comments and multi-line data', () => {
  const text =
    ': keep-alive\r\n\r\nevent: killed\r\ndata: {"a":1}\r\nid: 42\r\n\r\nevent:ready\ndata:x\ndata: y\n\ndata: only\r\rid\n\n';
  const whole = new SseParser().push(text);
  assert.deepEqual(whole, [
    { event: 'killed', data: '{"a":1}', id: '42' },
    { event: 'ready', data: 'x\ny' },
    { event: 'message', data: 'only' },
  ]);
  // Every split point, one character at a time, gives the same messages.
  const parser = new SseParser();
  const bytes = [...text].flatMap((ch) => parser.push(ch));
  assert.deepEqual(bytes, whole);
  for (let cut = 1; cut < text.length; cut++) {
    const p = new SseParser();
    assert.deepEqual([...p.push(text.slice(0, cut)), ...p.push(text.slice(cut))], whole, `cut at ${cut}`);
  }
});

test('a block without data is not dispatched; an unfinished block waits for its blank line', () => {
  const p = new SseParser();
  assert.deepEqual(p.push('event: x\nid: 1\n\ndata: half'), []);
  assert.deepEqual(p.push('\n'), []);
  assert.deepEqual(p.push('\n'), [{ event: 'message', data: 'half' }]);
});
