import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { SandboxdError } from '@sandboxd/common';
import { assertImagesIntact, imageManifest } from './image-manifest.js';

function imagesDir(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sandboxd-images-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'inventory.img'), Buffer.alloc(40));
  fs.writeFileSync(path.join(dir, 'pages-1.img'), Buffer.alloc(8192));
  fs.mkdirSync(path.join(dir, 'sub'));
  return dir;
}

test('the manifest lists the regular files of the images dir with their sizes', async (t) => {
  const dir = imagesDir(t);
  assert.deepEqual(await imageManifest(dir), { 'inventory.img': 40, 'pages-1.img': 8192 });
});

test('intact images pass, with files a restore added beside them', async (t) => {
  const dir = imagesDir(t);
  const manifest = await imageManifest(dir);
  fs.writeFileSync(path.join(dir, 'stats-restore'), 'x');
  await assertImagesIntact(dir, manifest, 'sbx1');
});

test('a truncated or missing image is refused as RUNTIME_FAILED, naming the file', async (t) => {
  const dir = imagesDir(t);
  const manifest = await imageManifest(dir);
  fs.truncateSync(path.join(dir, 'pages-1.img'), 100);
  fs.rmSync(path.join(dir, 'inventory.img'));
  await assert.rejects(assertImagesIntact(dir, manifest, 'sbx1'), (err: unknown) => {
    assert.ok(SandboxdError.is(err));
    assert.equal(err.code, 'RUNTIME_FAILED');
    assert.match(err.message, /inventory\.img: missing bytes, 40 at the pause/);
    assert.match(err.message, /pages-1\.img: 100 bytes, 8192 at the pause/);
    return true;
  });
});

test('an images dir that is gone is refused', async (t) => {
  const dir = imagesDir(t);
  const manifest = await imageManifest(dir);
  fs.rmSync(dir, { recursive: true });
  await assert.rejects(assertImagesIntact(dir, manifest, 'sbx1'), /are damaged/);
});
