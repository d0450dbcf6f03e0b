import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { isPythonSdkReady, pythonSdkVenv } from './python-sdk.js';

const machineDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sandboxd-python-sdk-'));
after(() => fs.rmSync(machineDir, { recursive: true, force: true }));

test('the venv is named by the requirements it was built from', () => {
  const venv = pythonSdkVenv(machineDir);
  assert.match(path.relative(machineDir, venv.dir), /^python-sdk\/[0-9a-f]{16}$/);
  assert.equal(venv.python, path.join(venv.dir, 'bin/python'));
  assert.deepEqual(pythonSdkVenv(machineDir), venv);
});

test('a venv counts as ready only when marked complete and its interpreter resolves', () => {
  const venv = pythonSdkVenv(machineDir);
  fs.mkdirSync(path.join(venv.dir, 'bin'), { recursive: true });
  fs.symlinkSync(process.execPath, venv.python);
  assert.equal(isPythonSdkReady(venv), false, 'no marker: a half-built venv');
  fs.writeFileSync(path.join(venv.dir, '.sandboxd-ready'), 'now\n');
  assert.equal(isPythonSdkReady(venv), true);
  fs.rmSync(venv.python);
  fs.symlinkSync(path.join(machineDir, 'gone/python3'), venv.python);
  assert.equal(isPythonSdkReady(venv), false, 'the base interpreter is gone');
});
