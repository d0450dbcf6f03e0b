import { z } from 'zod';
import type { Config } from '../config.js';
import { buildSchemas, type Schemas } from './schemas.js';

/**
 * The OpenAPI 3.1 description of the control-plane API, built from the same zod schemas the
 * routes parse their bodies with, so the two cannot disagree on a body. `npm run gen` writes it to
 * docs/openapi.json; a unit test checks that it lists exactly the routes the app serves. Fuzzers
 * (schemathesis) and client generators read it.
 */

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

interface QueryParam {
  name: string;
  description: string;
  schema: Record<string, unknown>;
  in?: 'query' | 'header';
}

interface Operation {
  method: Method;
  /** OpenAPI path, `{sandboxID}` for the id. */
  path: string;
  summary: string;
  body?: keyof Schemas;
  params?: QueryParam[];
  /** Status → description of a success answer; errors (400, 401, 404, 409, 429, 5xx) are added per operation. */
  ok: Record<string, string>;
  /** The route needs no API key. */
  public?: true;
  /** The answer is a stream (text/event-stream) or Prometheus text, not JSON. */
  produces?: string;
  /** A body that succeeds, for the examples phase of a fuzzer. */
  example?: Record<string, unknown>;
  /** The answer names a sandbox (`sandboxID`): every operation on one is linked from it. */
  makesSandbox?: true;
  /** Admitted against the host's free space: may answer 507. */
  writesToHost?: true;
}

const text = { type: 'string' };
const int = (min: number, max?: number) => ({
  type: 'integer',
  minimum: min,
  ...(max === undefined ? {} : { maximum: max }),
});

const listParams: QueryParam[] = [
  { name: 'state', description: 'comma list of running, paused', schema: text },
  { name: 'metadata', description: 'URL-encoded key=value pairs, all must match', schema: text },
  { name: 'limit', description: 'page size, 1..100', schema: int(1, 100) },
  { name: 'nextToken', description: 'the x-next-token of the previous page', schema: text },
];

export const operations: readonly Operation[] = [
  { method: 'get', path: '/health', summary: 'liveness', ok: { 200: 'serving' }, public: true },
  {
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics (a default-team key, or Authorization: Bearer SANDBOXD_METRICS_TOKEN)',
    ok: { 200: 'metrics' },
    produces: 'text/plain',
  },
  {
    method: 'post',
    path: '/sandboxes',
    summary: 'create (v1)',
    body: 'newSandbox',
    ok: { 201: 'created' },
    example: { templateID: 'base', timeout: 60 },
    makesSandbox: true,
    writesToHost: true,
  },
  {
    method: 'post',
    path: '/v2/sandboxes',
    summary: 'create',
    body: 'newSandbox',
    ok: { 201: 'created' },
    example: { templateID: 'base', timeout: 60, metadata: { fuzz: 'yes' } },
    makesSandbox: true,
    writesToHost: true,
  },
  {
    method: 'get',
    path: '/sandboxes',
    summary: 'list running sandboxes (v1)',
    params: [listParams[1] as QueryParam],
    ok: { 200: 'sandboxes' },
  },
  {
    method: 'get',
    path: '/v2/sandboxes',
    summary: 'list, paginated',
    params: listParams,
    ok: { 200: 'a page of sandboxes' },
  },
  { method: 'get', path: '/sandboxes/{sandboxID}', summary: 'one sandbox', ok: { 200: 'the sandbox' } },
  { method: 'delete', path: '/sandboxes/{sandboxID}', summary: 'kill', ok: { 204: 'killed' } },
  {
    method: 'post',
    path: '/sandboxes/{sandboxID}/close',
    summary: 'graceful close',
    body: 'closeBody',
    ok: { 204: 'closed' },
  },
  {
    method: 'post',
    path: '/sandboxes/{sandboxID}/timeout',
    summary: 'set the deadline',
    body: 'setTimeoutBody',
    ok: { 204: 'set' },
  },
  { method: 'get', path: '/sandboxes/{sandboxID}/metrics', summary: 'not supported yet (501)', ok: {} },
  { method: 'post', path: '/sandboxes/{sandboxID}/snapshots', summary: 'not supported yet (501)', ok: {} },
  { method: 'post', path: '/sandboxes/{sandboxID}/fork', summary: 'not supported yet (501)', ok: {} },
  { method: 'put', path: '/sandboxes/{sandboxID}/network', summary: 'not supported yet (501)', ok: {} },
  {
    method: 'post',
    path: '/sandboxes/{sandboxID}/pause',
    summary: 'pause',
    body: 'pauseBody',
    ok: { 204: 'paused' },
    writesToHost: true,
  },
  {
    method: 'post',
    path: '/sandboxes/{sandboxID}/connect',
    summary: 'connect (resumes)',
    body: 'connectBody',
    ok: { 200: 'running', 201: 'resumed' },
  },
  {
    method: 'post',
    path: '/v2/sandboxes/{sandboxID}/connect',
    summary: 'connect (resumes)',
    body: 'connectBody',
    ok: { 200: 'running', 201: 'resumed' },
  },
  {
    method: 'post',
    path: '/sandboxes/{sandboxID}/resume',
    summary: 'resume (deprecated)',
    body: 'resumeBody',
    ok: { 201: 'resumed' },
  },
  {
    method: 'put',
    path: '/sandboxes/{sandboxID}/metadata',
    summary: 'replace metadata',
    body: 'metadataReplaceBody',
    ok: { 200: 'the sandbox' },
  },
  {
    method: 'patch',
    path: '/sandboxes/{sandboxID}/metadata',
    summary: 'merge metadata',
    body: 'metadataPatchBody',
    ok: { 200: 'the sandbox' },
  },
  {
    method: 'get',
    path: '/events',
    summary: "the team's lifecycle events (Server-Sent Events)",
    params: [
      { name: 'sandboxID', description: 'only this sandbox', schema: text },
      { name: 'since', description: 'replay after this seq', schema: int(0) },
      { name: 'Last-Event-ID', description: 'as since', schema: int(0), in: 'header' },
    ],
    ok: { 200: 'an event stream' },
    produces: 'text/event-stream',
  },
  {
    method: 'get',
    path: '/sandboxes/{sandboxID}/events',
    summary: "one sandbox's recorded events",
    params: [
      { name: 'since', description: 'after this seq', schema: int(0) },
      { name: 'limit', description: '1..1000', schema: int(1, 1000) },
    ],
    ok: { 200: 'events, oldest first' },
  },
];

const operationId = (op: Pick<Operation, 'method' | 'path'>) =>
  `${op.method}${op.path.replace(/[{}]/g, '').replace(/\/(\w)/g, (_, c: string) => c.toUpperCase())}`;

/** OpenAPI links from a create's answer to every operation on a sandbox, so stateful fuzzing acts on real ones. */
function sandboxLinks(): Record<string, unknown> {
  const links: Record<string, unknown> = {};
  for (const op of operations.filter((o) => o.path.includes('{sandboxID}'))) {
    links[operationId(op)] = { operationId: operationId(op), parameters: { sandboxID: '$response.body#/sandboxID' } };
  }
  return links;
}

const errorBody = {
  type: 'object',
  required: ['code', 'message'],
  properties: { code: { type: 'integer' }, message: { type: 'string' } },
};

function bodySchema(schema: z.ZodType): Record<string, unknown> {
  // `refine` checks (limits on entry counts, id shapes) have no JSON Schema form: the server
  // applies them and answers 400, which a fuzzer must accept as the right answer.
  const json = z.toJSONSchema(schema, { unrepresentable: 'any', io: 'input' }) as Record<string, unknown>;
  delete json.$schema;
  return json;
}

function operationObject(op: Operation, schemas: Schemas): Record<string, unknown> {
  const parameters: Record<string, unknown>[] = [];
  if (op.path.includes('{sandboxID}')) {
    parameters.push({ name: 'sandboxID', in: 'path', required: true, schema: text });
  }
  for (const p of op.params ?? []) {
    parameters.push({
      name: p.name,
      in: p.in ?? 'query',
      required: false,
      description: p.description,
      schema: p.schema,
    });
  }
  const responses: Record<string, unknown> = {};
  for (const [status, description] of Object.entries(op.ok)) {
    const body = status === '204' ? {} : { content: { [op.produces ?? 'application/json']: { schema: {} } } };
    const links = op.makesSandbox && status === '201' ? { links: sandboxLinks() } : {};
    responses[status] = { description, ...body, ...links };
  }
  const error = { content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
  const errors = op.public
    ? {}
    : {
        400: 'bad input',
        401: 'no or unknown API key',
        404: 'unknown sandbox',
        409: 'not in a state for this',
        429: 'rate limit, or a team limit (concurrent, paused, disk)',
        501: 'not supported yet',
        503: 'shutting down or retry later',
        ...(op.writesToHost ? { 507: "the host's free space (less its reserve) cannot hold it" } : {}),
      };
  for (const [status, description] of Object.entries(errors)) responses[status] = { description, ...error };
  return {
    summary: op.summary,
    operationId: operationId(op),
    ...(op.public ? { security: [] } : {}),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(op.body
      ? {
          requestBody: {
            required: false,
            content: {
              'application/json': {
                schema: bodySchema(schemas[op.body]),
                ...(op.example ? { example: op.example } : {}),
              },
            },
          },
        }
      : {}),
    responses,
  };
}

export function buildOpenApi(config: Readonly<Config>): Record<string, unknown> {
  const schemas = buildSchemas(config);
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of operations) {
    paths[op.path] = { ...paths[op.path], [op.method]: operationObject(op, schemas) };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'sandboxd control-plane API',
      version: '1',
      description: "E2B's sandbox API as sandboxd serves it, plus sandboxd's own routes (see docs/api.md).",
    },
    components: {
      securitySchemes: { ApiKey: { type: 'apiKey', in: 'header', name: 'X-API-KEY' } },
      schemas: { Error: errorBody },
    },
    security: [{ ApiKey: [] }],
    paths,
  };
}
