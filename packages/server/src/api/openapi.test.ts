import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { loadConfig } from '../config.js';
import { openApiFixture } from '../testing/api-fixture.js';
import { buildOpenApi } from './openapi.js';

type Doc = {
  paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: unknown }> } }>>;
};

test('the OpenAPI description lists exactly the routes the API serves', async (t) => {
  const api = openApiFixture();
  t.after(() => api.close());
  const served = new Set(
    api.app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`),
  );
  const doc = buildOpenApi(api.config) as Doc;
  const described = new Set(
    Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`)),
  );
  assert.deepEqual(
    [...served].filter((r) => !described.has(r)),
    [],
    'served but not described',
  );
  assert.deepEqual(
    [...described].filter((r) => !served.has(r)),
    [],
    'described but not served',
  );
});

test('bodies are the schemas the routes parse: a limit changed in the schema shows in the description', async (t) => {
  const api = openApiFixture();
  t.after(() => api.close());
  const doc = buildOpenApi(api.config) as Doc;
  const schemaOf = (path: string, method: string) =>
    doc.paths[path]?.[method]?.requestBody?.content['application/json']?.schema as {
      properties: Record<string, { maximum?: number; type?: string }>;
      required?: string[];
    };
  const create = schemaOf('/v2/sandboxes', 'post');
  assert.deepEqual(create.required, ['templateID']);
  assert.equal(create.properties.timeout?.maximum, api.config.sandbox.maxTimeoutSeconds);
  assert.equal(schemaOf('/sandboxes/{sandboxID}/close', 'post').properties.graceMs?.maximum, 60_000);
  assert.equal(schemaOf('/sandboxes/{sandboxID}/pause', 'post').properties.memory?.type, 'boolean');
});

test('docs/openapi.json is what the generator makes (npm run gen)', () => {
  const committed = JSON.parse(fs.readFileSync(new URL('../../../../docs/openapi.json', import.meta.url), 'utf8'));
  assert.deepEqual(committed, buildOpenApi(loadConfig({ env: {}, argv: [], repoRoot: '/' })));
});
