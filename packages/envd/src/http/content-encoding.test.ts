import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseDownloadEncoding } from './content-encoding.js';

test('gzip only when it is the one coding asked for; identity otherwise; 406 when neither', () => {
  assert.equal(chooseDownloadEncoding(undefined), 'identity');
  assert.equal(chooseDownloadEncoding('gzip'), 'gzip');
  assert.equal(chooseDownloadEncoding('GZIP;q=1'), 'gzip');
  assert.equal(chooseDownloadEncoding('gzip, deflate'), 'identity');
  assert.equal(chooseDownloadEncoding('br'), 'identity');
  assert.equal(chooseDownloadEncoding('identity;q=0, gzip'), 'gzip');
  assert.equal(chooseDownloadEncoding('identity;q=0, br'), 'unacceptable');
  assert.equal(chooseDownloadEncoding('*;q=0'), 'unacceptable');
  assert.equal(chooseDownloadEncoding('gzip;q=0'), 'identity');
});
