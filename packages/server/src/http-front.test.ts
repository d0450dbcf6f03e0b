import assert from 'node:assert/strict';
import type http from 'node:http';
import { test } from 'node:test';
import { closeHttpServer } from './http-front.js';

test('closeHttpServer resolves after the grace period even when Node never calls back', async () => {
  // What a connection count left above zero by proxied upgrades looks like: close() never calls back.
  let cutAll = false;
  const stuck = {
    close: () => stuck,
    closeIdleConnections: () => {},
    closeAllConnections: () => {
      cutAll = true;
    },
  } as unknown as http.Server;
  await closeHttpServer(stuck, 50);
  assert.equal(cutAll, true, 'busy connections were cut when the grace period ran out');
});

test('closeHttpServer resolves as soon as the server has closed', async () => {
  let cutAll = false;
  const closing = {
    close: (done: () => void) => setImmediate(done),
    closeIdleConnections: () => {},
    closeAllConnections: () => {
      cutAll = true;
    },
  } as unknown as http.Server;
  await closeHttpServer(closing, 60_000);
  assert.equal(cutAll, false);
});
