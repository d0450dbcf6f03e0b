import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from './config.js';
import { parseWarmPoolSizes } from './warm-pool-config.js';

const load = (env: Record<string, string>, argv: string[] = []) => loadConfig({ env, argv, repoRoot: '/tmp' });
const problemsOf = (env: Record<string, string>, argv: string[] = []): string[] => {
  try {
    load(env, argv);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  assert.fail('the config was accepted');
};

test('a bare number keeps meaning that many base sandboxes; 0 turns pooling off', () => {
  assert.deepEqual(load({}).sandbox.warmPool, { base: 2 }, 'the default');
  assert.deepEqual(load({ SANDBOXD_WARM_POOL: '5' }).sandbox.warmPool, { base: 5 });
  assert.deepEqual(load({ SANDBOXD_WARM_POOL: '0' }).sandbox.warmPool, {});
  assert.deepEqual(load({ SANDBOXD_WARM_POOL: '' }).sandbox.warmPool, { base: 2 }, 'empty is unset');
});

test('per template, from the environment or the flag (the flag wins)', () => {
  assert.deepEqual(load({ SANDBOXD_WARM_POOL: 'base=2,code-interpreter-v1=1' }).sandbox.warmPool, {
    base: 2,
    'code-interpreter-v1': 1,
  });
  assert.deepEqual(
    load({ SANDBOXD_WARM_POOL: '3' }, ['--warm-pool', ' python-data-science = 1 , base=0 ']).sandbox.warmPool,
    { 'python-data-science': 1 },
    'spaces allowed, a 0 entry has no pool',
  );
  assert.deepEqual(load({}, ['--warm-pool=constructor=1']).sandbox.warmPool, { constructor: 1 });
  assert.deepEqual(
    load({ SANDBOXD_WARM_POOL: 'code-interpreter=1' }).sandbox.warmPool,
    { 'code-interpreter-v1': 1 },
    'an alias is the pool of the template a create of it resolves to',
  );
});

test('bad warm pool settings are listed, naming the setting and the fix', () => {
  const cases: Array<[string, RegExp]> = [
    ['-1', /SANDBOXD_WARM_POOL: the pool size must be a whole number from 0 to 64, got '-1'/],
    ['1.5', /whole number/],
    ['two', /whole number/],
    ['65', /whole number from 0 to 64/],
    ['base=2,,x=1', /expected <template>=<size>, got ''/],
    ['base', /whole number/],
    ['base=', /the size of 'base' must be a whole number/],
    ['=2', /expected <template>=<size>/],
    ['base=-1', /the size of 'base'/],
    ['Base=1', /'Base' is not a template name/],
    ['../etc=1', /'..\/etc' is not a template name/],
    ['base=1,base=2', /template 'base' is named twice/],
    ['code-interpreter-v1=1,code-interpreter=1', /'code-interpreter-v1' is named twice \(as 'code-interpreter'\)/],
    ['a=40,b=40', /the pools hold 80 sandboxes together, more than 64/],
    ['base=1;x=2', /the size of 'base' must be a whole number/],
  ];
  for (const [text, expected] of cases) {
    const problems = problemsOf({ SANDBOXD_WARM_POOL: text });
    assert.ok(
      problems.some((p) => expected.test(p)),
      `${text}: ${problems.join('; ')}`,
    );
  }
  assert.match(
    problemsOf({}, ['--warm-pool', 'x=y']).join('\n'),
    /^--warm-pool: /m,
    'the flag is named when it is the source',
  );
  assert.deepEqual(parseWarmPoolSizes('base=1,Bad=1', 'X').sizes, {}, 'nothing half-parsed is used');
});
