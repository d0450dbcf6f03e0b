import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { needsSandboxHost } from '@sandboxd/runtime/testing';
import { type BrowserBundle, buildSdkBrowserBundle } from '@sandboxd/sdk/build';
import type { Page } from 'playwright-core';
import { launchChromium, type TestBrowser } from '../support/browser.js';
import { startTestServer, type TestServer } from '../support/server-harness.js';

/**
 * What the page runs, as plain JavaScript served to it (not a function passed to page.evaluate:
 * the test's transpiler would add helpers the page does not have). It uses only the bundle.
 */
const scenarioModule = `
import { Sandbox, Template } from '/sdk.browser.mjs';

const describeError = (err) => (err && err.name ? err.name + ': ' + err.message : String(err));

window.scenario = async ({ apiUrl, apiKey }) => {
  const out = {};
  const sandbox = await Sandbox.create({ apiUrl, sandboxUrl: apiUrl, apiKey, timeoutMs: 120000 });
  out.id = sandbox.id;
  try {
    const closed = new Promise((resolve) => sandbox.on('close', (e) => resolve(e.reason)));
    await sandbox.whenEventsReady();
    const run = await sandbox.commands.run('echo "hello from $(uname -s)"');
    out.stdout = run.stdout;
    out.exitCode = run.exitCode;
    const failed = await sandbox.commands.run('exit 3').catch((err) => err);
    out.failedExitCode = failed.exitCode;
    await sandbox.files.write('/tmp/browser.txt', 'written by Chromium ✓');
    out.read = await sandbox.files.read('/tmp/browser.txt');
    out.listed = (await sandbox.files.list('/tmp')).map((e) => e.name);
    out.statusRunning = await sandbox.getStatus();
    out.killed = await sandbox.kill();
    out.statusAfterKill = await sandbox.getStatus();
    out.closeReason = await Promise.race([
      closed,
      new Promise((resolve) => setTimeout(() => resolve('no close event within 15 s'), 15000)),
    ]);
  } finally {
    await sandbox.kill().catch(() => undefined);
  }
  try {
    Template().fromDockerfile('FROM debian:bookworm');
    out.template = 'no error';
  } catch (err) {
    out.template = describeError(err);
  }
  return out;
};

window.refused = async ({ apiUrl, apiKey }) => {
  const out = {};
  try {
    await fetch(apiUrl + '/health');
    out.health = 'answered';
  } catch (err) {
    out.health = describeError(err);
  }
  try {
    const sandbox = await Sandbox.create({ apiUrl, sandboxUrl: apiUrl, apiKey });
    out.create = 'created ' + sandbox.id;
    await sandbox.kill();
  } catch (err) {
    out.create = describeError(err);
  }
  return out;
};

window.sdkLoaded = true;
`;

const pageHtml =
  '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>sdk</title>' +
  '<script type="module" src="/scenario.mjs"></script>';

/** A loopback web server for the page and the bundle: its origin is not the API's (another port). */
async function startPageServer(bundle: BrowserBundle): Promise<{ origin: string; close(): Promise<void> }> {
  const files: Record<string, { type: string; body: () => Buffer | string }> = {
    '/': { type: 'text/html; charset=utf-8', body: () => pageHtml },
    '/scenario.mjs': { type: 'text/javascript; charset=utf-8', body: () => scenarioModule },
    '/sdk.browser.mjs': { type: 'text/javascript; charset=utf-8', body: () => fs.readFileSync(bundle.outFile) },
    '/sdk.browser.mjs.map': { type: 'application/json', body: () => fs.readFileSync(`${bundle.outFile}.map`) },
  };
  const server = http.createServer((req, res) => {
    const file = files[new URL(req.url ?? '/', 'http://page').pathname];
    if (!file) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store' }).end(file.body());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function openPage(browser: TestBrowser, origin: string, problems: string[]): Promise<Page> {
  const page = await browser.context.newPage();
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (m) => {
    // Chromium logs every non-2xx answer ("Failed to load resource"): the SDK reads those itself
    // (a killed sandbox's status is a 404). A CORS refusal logs its own, different message.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console: ${m.text()}`);
  });
  await page.goto(`${origin}/`);
  try {
    await page.waitForFunction('window.sdkLoaded === true', undefined, { timeout: 15_000 });
  } catch (err) {
    throw new Error(`the page did not load the bundle: ${(err as Error).message}\n${problems.join('\n')}`);
  }
  return page;
}

// The SDK's browser build in Debian's Chromium against a real server whose CORS allows one origin.
describe('@sandboxd/sdk browser build in Chromium, cross-origin', needsSandboxHost, () => {
  let bundle: BrowserBundle;
  let allowed: Awaited<ReturnType<typeof startPageServer>> | undefined;
  let other: Awaited<ReturnType<typeof startPageServer>> | undefined;
  let server: TestServer | undefined;
  let browser: TestBrowser | undefined;
  const problems: string[] = [];

  before(async () => {
    bundle = await buildSdkBrowserBundle();
    allowed = await startPageServer(bundle);
    other = await startPageServer(bundle);
    server = await startTestServer({ env: { SANDBOXD_CORS_ORIGINS: allowed.origin } });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.stop(); // kills whatever sandbox a failed scenario left
    await allowed?.close();
    await other?.close();
  });

  test('the bundle is self-contained: no import is left for the browser to resolve', () => {
    assert.deepEqual(bundle.externalImports, [], 'esbuild reports no external import');
    const source = fs.readFileSync(bundle.outFile, 'utf8');
    assert.doesNotMatch(source, /\b(?:from|import|require)\s*\(?\s*["'](?:node:|fs["']|path["']|stream["'])/);
    assert.ok(bundle.bytes > 100_000 && bundle.bytes < 1_000_000, `bundle size ${bundle.bytes} bytes`);
  });

  test('create, run, write, read, status, events and kill through the bundle from an allowed origin', async () => {
    assert.ok(server && browser && allowed);
    const page = await openPage(browser, allowed.origin, problems);
    const out = (await page.evaluate(
      `window.scenario(${JSON.stringify({ apiUrl: server.url, apiKey: server.apiKey })})`,
    )) as Record<string, unknown>;
    await page.close();
    assert.match(String(out.id), /^[a-z0-9]+$/);
    assert.equal(out.stdout, 'hello from Linux\n');
    assert.equal(out.exitCode, 0);
    assert.equal(out.failedExitCode, 3, "a failing command is e2b's CommandExitError");
    assert.equal(out.read, 'written by Chromium ✓');
    assert.ok((out.listed as string[]).includes('browser.txt'));
    assert.equal(out.statusRunning, 'running');
    assert.equal(out.killed, true);
    assert.equal(out.statusAfterKill, 'closed');
    assert.equal(out.closeReason, 'killed', 'the event stream (SSE over fetch) delivered the close');
    assert.match(
      String(out.template),
      /^Error: dockerfile-ast\.DockerfileParser\.parse is not available in the browser/,
      "e2b's template builder is stubbed out and says so when used",
    );
    assert.deepEqual(problems, [], 'no page errors');
    const list = (await (await server.api('GET', '/v2/sandboxes?state=running,paused')).json()) as unknown[];
    assert.deepEqual(list, [], 'the sandbox is gone on the server');
  });

  test('a page from an origin the server does not allow cannot read any answer', async () => {
    assert.ok(server && browser && other);
    const log: string[] = [];
    const page = await openPage(browser, other.origin, log);
    const out = (await page.evaluate(
      `window.refused(${JSON.stringify({ apiUrl: server.url, apiKey: server.apiKey })})`,
    )) as Record<string, unknown>;
    await page.close();
    assert.equal(out.health, 'TypeError: Failed to fetch', 'even a simple GET is withheld without CORS headers');
    assert.match(String(out.create), /Failed to fetch/, 'the SDK call fails at its first (preflighted) request');
    assert.ok(
      log.some((line) => /blocked by CORS policy/.test(line)),
      `Chromium says why (CORS), not a network failure:\n${log.join('\n')}`,
    );
    const list = (await (await server.api('GET', '/v2/sandboxes?state=running,paused')).json()) as unknown[];
    assert.deepEqual(list, [], 'no sandbox was created: the preflight was refused, the POST never sent');
  });
});
