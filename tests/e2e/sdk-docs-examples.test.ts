import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { needsSandboxHost } from '@sandboxd/runtime/testing';
import { AuthenticationError, EventStreamError, Sandbox, SandboxPool } from '@sandboxd/sdk';
import { capturingConsole, eventually, killAllSandboxes } from '../support/docs-examples.js';
import { startTestServer, type TestServer } from '../support/server-harness.js';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { needsTemplates } from '../support/template-requirements.js';

// The third-party "Sandbox Lifecycle" page's examples, through @sandboxd/sdk: each test holds one
// example's code as the page prints it (the import is at the top of this file; `console` is a
// capturing stand-in); the lines around it say what it must do. Configuration comes from
// SANDBOXD_API_URL / SANDBOXD_API_KEY only, as a user would set them.
//
// Two examples cannot run as printed, on E2B or here: "Automatic Cleanup" and "Handle Errors"
// read `sandbox` in a `finally` outside the block that declared it (a ReferenceError, and a type
// error, so they run from source text); their tests assert that error.

/** Runs an example that does not type-check as printed, as the JavaScript it is. */
function runAsJavaScript(code: string, scope: Record<string, unknown>): Promise<unknown> {
  const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (
    ...args: string[]
  ) => (...values: unknown[]) => Promise<unknown>;
  return new AsyncFunction(...Object.keys(scope), code)(...Object.values(scope));
}

const endsIn = async (sandbox: Sandbox) => (await sandbox.getInfo()).endAt.getTime() - Date.now();

describe('Sandbox Lifecycle page examples with @sandboxd/sdk', needsSandboxHost, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    for (const name of ['E2B_API_URL', 'E2B_SANDBOX_URL', 'E2B_API_KEY', 'E2B_DOMAIN']) delete process.env[name];
    process.env.SANDBOXD_API_URL = server.url;
    process.env.SANDBOXD_API_KEY = server.apiKey;
  });
  afterEach(() => killAllSandboxes(server));
  after(() => server?.stop());

  test('Basic Creation', async () => {
    const { console, printed } = capturingConsole();
    const sandbox = await Sandbox.create();
    console.log('Sandbox ID:', sandbox.id);
    assert.deepEqual(printed, [`Sandbox ID: ${sandbox.sandboxId}`]);
  });

  test('With Options: the placeholder key is refused (401), as on E2B', async () => {
    await assert.rejects(async () => {
      const sandbox = await Sandbox.create({
        apiKey: 'your-api-key', // Optional if E2B_API_KEY is set
        template: 'custom-template-id', // Use custom template
        metadata: {
          // Custom metadata
          project: 'my-project',
          user: 'user-123',
        },
        timeoutMs: 300000, // 5 minutes
      });
      return sandbox;
    }, AuthenticationError);
  });

  test('Check Sandbox Status, Keep Alive, Metadata, Graceful Shutdown', async () => {
    const { console, printed } = capturingConsole();
    const sandbox = await Sandbox.create();
    {
      const status = await sandbox.getStatus();
      console.log('Status:', status);
    }
    assert.deepEqual(printed, ['Status: running']);
    // Extend sandbox lifetime
    await sandbox.keepAlive(600000); // Keep alive for 10 more minutes
    assert.ok((await endsIn(sandbox)) > 590_000);
    // Get metadata
    const metadata = await sandbox.getMetadata();
    assert.deepEqual(metadata, {});
    // Update metadata
    await sandbox.setMetadata({
      stage: 'testing',
      version: '1.0',
    });
    assert.deepEqual(await sandbox.getMetadata(), { stage: 'testing', version: '1.0' });
    // Close sandbox and clean up resources
    await sandbox.close();
    assert.equal(await sandbox.getStatus(), 'closed');
  });

  test('Automatic Cleanup: `sandbox` is out of scope in finally (ReferenceError as printed)', async () => {
    const code = `try {
const sandbox = await Sandbox.create()
// Do work
} finally {
await sandbox.close() // Always cleanup
}`;
    await assert.rejects(runAsJavaScript(code, { Sandbox }), ReferenceError);
  });

  test('Automatic Cleanup as packages/sdk/README.md corrects it: created before the try', async () => {
    let made: Sandbox;
    {
      const sandbox = await Sandbox.create();
      try {
        // Do work
      } finally {
        await sandbox.close(); // Always cleanup
      }
      made = sandbox;
    }
    assert.equal(await made.getStatus(), 'closed');
  });

  test('Force Kill', async () => {
    const sandbox = await Sandbox.create();
    // Force terminate immediately
    await sandbox.kill();
    assert.equal(await sandbox.getStatus(), 'closed');
  });

  test('Default Timeout (5 minutes), Custom Timeout, Extending Timeout', async () => {
    const plain = await Sandbox.create();
    assert.ok(Math.abs((await endsIn(plain)) - 300_000) < 5_000);
    const sandbox = await Sandbox.create({
      timeoutMs: 600000, // 10 minutes
    });
    assert.ok(Math.abs((await endsIn(sandbox)) - 600_000) < 5_000);
    // Extend timeout while sandbox is running
    await sandbox.setTimeout(900000); // Extend to 15 minutes total
    assert.ok(Math.abs((await endsIn(sandbox)) - 900_000) < 5_000);
  });

  test('Save Sandbox ID, Reconnect Later', async () => {
    let saved: string;
    {
      const sandbox = await Sandbox.create();
      const sandboxId = sandbox.id;
      // Store sandboxId for later
      saved = sandboxId;
    }
    const sandboxId = saved;
    // Reconnect to existing sandbox
    const sandbox = await Sandbox.connect(sandboxId);
    // Continue working
    const result = await sandbox.commands.run('ls');
    assert.equal(result.exitCode, 0);
    assert.equal(sandbox.id, saved);
  });

  test('List All Running Sandboxes, Filter by Metadata', async () => {
    const mine = await Sandbox.create({ metadata: { project: 'my-project' } });
    await Sandbox.create({ metadata: { project: 'other' } });
    const { console, printed, logged } = capturingConsole();
    {
      const sandboxes = await Sandbox.list();
      console.log('Running sandboxes:', sandboxes);
    }
    assert.match(printed[0] ?? '', /^Running sandboxes: /);
    const all = logged[0]?.[1] as ReturnType<typeof Sandbox.list>;
    assert.equal((await all.nextItems()).length, 2, 'e2b 2.x returns a paginator');
    const sandboxes = await Sandbox.list({
      metadata: {
        project: 'my-project',
      },
    });
    assert.deepEqual(
      (await sandboxes.nextItems()).map((s) => s.sandboxId),
      [mine.id],
    );
  });

  test('Best Practices 1 (Always Close) and 2 (Appropriate Timeouts)', async () => {
    let closed: Sandbox;
    {
      const sandbox = await Sandbox.create();
      try {
        // Your code here
      } finally {
        await sandbox.close();
      }
      closed = sandbox;
    }
    assert.equal(await closed.getStatus(), 'closed');
    {
      // Short-lived tasks
      const sandbox = await Sandbox.create({ timeoutMs: 60000 }); // 1 minute
      assert.ok(Math.abs((await endsIn(sandbox)) - 60_000) < 5_000);
    }
    {
      // Long-running tasks
      const sandbox = await Sandbox.create({ timeoutMs: 3600000 }); // 1 hour
      assert.ok(Math.abs((await endsIn(sandbox)) - 3_600_000) < 5_000);
    }
  });

  test('Best Practices 3 (Handle Errors): `sandbox` is out of scope in finally (ReferenceError as printed)', async () => {
    const { console } = capturingConsole();
    const code = `try {
const sandbox = await Sandbox.create()
// Work with sandbox
} catch (error) {
console.error('Sandbox creation failed:', error)
// Handle error
} finally {
if (sandbox) await sandbox.close()
}`;
    await assert.rejects(runAsJavaScript(code, { Sandbox, console }), ReferenceError);
  });

  test('Handle Errors as packages/sdk/README.md corrects it: declared before the try, closed in finally', async () => {
    const { console } = capturingConsole();
    let made: Sandbox | undefined;
    {
      let sandbox: Sandbox | undefined;
      try {
        sandbox = await Sandbox.create();
        // Work with sandbox
      } catch (error) {
        console.error('Sandbox creation failed:', error);
      } finally {
        if (sandbox) await sandbox.close();
      }
      made = sandbox;
    }
    assert.ok(made);
    assert.equal(await made.getStatus(), 'closed');
  });

  test('Best Practices 4 (Use Metadata for Organization)', async () => {
    const userId = 'user-123';
    const sessionId = 'session-9';
    const sandbox = await Sandbox.create({
      metadata: {
        user: userId,
        session: sessionId,
        purpose: 'code-execution',
      },
    });
    assert.deepEqual(await sandbox.getMetadata(), { user: userId, session: sessionId, purpose: 'code-execution' });
  });

  test('Pool Pattern: the page’s class as printed, and SandboxPool used the same way', async () => {
    const code = `class SandboxPool {
constructor(size) {
this.pool = []
this.size = size
}
async init() {
for (let i = 0; i < this.size; i++) {
const sandbox = await Sandbox.create()
this.pool.push(sandbox)
}
}
async acquire() {
if (this.pool.length === 0) {
return await Sandbox.create()
}
return this.pool.pop()
}
release(sandbox) {
this.pool.push(sandbox)
}
async cleanup() {
await Promise.all(this.pool.map(s => s.close()))
}
}
return SandboxPool`;
    type Pool = {
      init(): Promise<void>;
      acquire(): Promise<Sandbox>;
      release(s: Sandbox): void;
      cleanup(): Promise<void>;
    };
    const PrintedPool = (await runAsJavaScript(code, { Sandbox })) as new (size: number) => Pool;
    for (const pool of [new PrintedPool(2), new SandboxPool(2)]) {
      await pool.init();
      const a = await pool.acquire();
      const b = await pool.acquire();
      const c = await pool.acquire(); // the pool is empty: a new one
      assert.equal(new Set([a.id, b.id, c.id]).size, 3);
      assert.equal((await c.commands.run('echo ok')).stdout, 'ok\n');
      for (const s of [a, b, c]) pool.release(s);
      await pool.cleanup();
      assert.deepEqual(await Promise.all([a, b, c].map((s) => s.getStatus())), ['closed', 'closed', 'closed']);
    }
  });

  test('Lifecycle Events: start, then an error while the event stream is cut, then close', async (t) => {
    const { console, printed, logged } = capturingConsole();
    // Through a relay the test can cut, so the stream really fails once.
    const relay = await startTcpProxy(server.url);
    t.after(() => relay.close());
    const sandbox = await Sandbox.create({ apiUrl: relay.url });
    sandbox.on('start', () => {
      console.log('Sandbox started');
    });
    sandbox.on('close', () => {
      console.log('Sandbox closed');
    });
    sandbox.on('error', (error) => {
      console.error('Sandbox error:', error);
    });
    await eventually(() => printed.includes('Sandbox started'), 'the start event');
    relay.drop();
    await eventually(() => printed.some((p) => p.startsWith('Sandbox error:')), 'the error event');
    relay.allow();
    await sandbox.close();
    await eventually(() => printed.includes('Sandbox closed'), 'the close event');
    assert.deepEqual(
      printed.map((p) => p.split(':')[0]),
      ['Sandbox started', 'Sandbox error', 'Sandbox closed'],
    );
    const errorEvent = logged[1]?.[1] as { type: string; error: unknown };
    assert.equal(errorEvent.type, 'error');
    assert.ok(errorEvent.error instanceof EventStreamError);
  });

  test('Retry Pattern', async () => {
    async function createSandboxWithRetry(maxRetries = 3) {
      for (let i = 0; i < maxRetries; i++) {
        try {
          return await Sandbox.create();
        } catch (error) {
          if (i === maxRetries - 1) throw error;
          await new Promise((resolve) => setTimeout(resolve, 1000 * (i + 1)));
        }
      }
    }
    const sandbox = await createSandboxWithRetry();
    assert.equal(await sandbox?.getStatus(), 'running');
  });
});

describe('Sandbox Lifecycle page: Using Templates', await needsTemplates('python-data-science'), () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    process.env.SANDBOXD_API_URL = server.url;
    process.env.SANDBOXD_API_KEY = server.apiKey;
  });
  after(() => server?.stop());

  test('Using Templates: python-data-science has pandas and numpy', async () => {
    // Use a pre-built template
    const sandbox = await Sandbox.create({
      template: 'python-data-science', // Template with pandas, numpy, etc.
    });
    try {
      const run = await sandbox.commands.run('python3 -c "import pandas, numpy; print(\'ok\')"');
      assert.equal(run.stdout, 'ok\n');
    } finally {
      await sandbox.kill();
    }
  });
});
