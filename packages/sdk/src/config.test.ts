import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { DEFAULT_URL, withSandboxdDefaults } from './config.js';

const names = [
  'SANDBOXD_API_URL',
  'SANDBOXD_SANDBOX_URL',
  'SANDBOXD_API_KEY',
  'E2B_API_URL',
  'E2B_SANDBOX_URL',
  'E2B_API_KEY',
  'E2B_DOMAIN',
];
const saved = Object.fromEntries(names.map((n) => [n, process.env[n]]));
function setEnv(values: Record<string, string>): void {
  for (const n of names) delete process.env[n];
  Object.assign(process.env, values);
}

describe('connection defaults: option, SANDBOXD_*, E2B_*, local server', () => {
  afterEach(() => {
    for (const n of names) {
      if (saved[n] === undefined) delete process.env[n];
      else process.env[n] = saved[n];
    }
  });

  test('nothing set: the local server for both URLs, no key', () => {
    setEnv({});
    const opts = withSandboxdDefaults(undefined);
    assert.equal(opts.apiUrl, DEFAULT_URL);
    assert.equal(opts.sandboxUrl, DEFAULT_URL);
    assert.equal(opts.apiKey, undefined);
  });

  test('SANDBOXD_* wins over E2B_*; the sandbox URL follows the API URL', () => {
    setEnv({ SANDBOXD_API_URL: 'http://a:1/', SANDBOXD_API_KEY: 'k1', E2B_API_URL: 'http://b:2', E2B_API_KEY: 'k2' });
    assert.deepEqual(withSandboxdDefaults({}), { apiUrl: 'http://a:1', sandboxUrl: 'http://a:1', apiKey: 'k1' });
  });

  test('E2B_* is used when no SANDBOXD_* is set, each name on its own', () => {
    setEnv({ E2B_API_URL: 'http://b:2', E2B_SANDBOX_URL: 'http://c:3', E2B_API_KEY: 'k2', SANDBOXD_API_KEY: 'k1' });
    assert.deepEqual(withSandboxdDefaults({}), { apiUrl: 'http://b:2', sandboxUrl: 'http://c:3', apiKey: 'k1' });
  });

  test('options win over every environment variable and keep the other options', () => {
    setEnv({ SANDBOXD_API_URL: 'http://a:1', SANDBOXD_SANDBOX_URL: 'http://a:9', SANDBOXD_API_KEY: 'k1' });
    const opts = withSandboxdDefaults({ apiUrl: 'http://o:1', apiKey: 'ko', requestTimeoutMs: 5 });
    assert.deepEqual(opts, { apiUrl: 'http://o:1', sandboxUrl: 'http://a:9', apiKey: 'ko', requestTimeoutMs: 5 });
  });

  test('a domain without any URL is left to e2b (an E2B-style deployment addressed by domain)', () => {
    setEnv({ E2B_DOMAIN: 'example.org' });
    assert.deepEqual(withSandboxdDefaults({}), {});
    setEnv({});
    assert.deepEqual(withSandboxdDefaults({ domain: 'example.org' }), { domain: 'example.org' });
  });
});
