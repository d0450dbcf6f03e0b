import { isTemplateId } from '@sandboxd/common';
import { canonicalTemplateName } from '@sandboxd/runtime';

/** Sandboxes kept started ahead of demand, by template id; a template absent (or 0) has no pool. */
export type WarmPoolSizes = Readonly<Record<string, number>>;

/** The template a bare number (`SANDBOXD_WARM_POOL=2`) means, as it did before pools were per template. */
export const defaultWarmPoolTemplate = 'base';
export const defaultWarmPoolSizes: WarmPoolSizes = { [defaultWarmPoolTemplate]: 2 };
/** Bound on one pool and on all pools together: pooled sandboxes hold memory nobody asked for yet. */
export const maxWarmPoolTotal = 64;

/**
 * Parses `2` (that many of base) or `base=2,code-interpreter-v1=1`. Strict: anything else is a
 * problem for the config to list, never a guess. `source` names the setting in the messages.
 */
export function parseWarmPoolSizes(text: string, source: string): { sizes: WarmPoolSizes; problems: string[] } {
  const problems: string[] = [];
  // A Map, not an object: a template may be called `constructor`.
  const sizes = new Map<string, number>();
  const trimmed = text.trim();
  const sizeOf = (value: string, what: string): number | undefined => {
    if (!/^\d+$/.test(value) || Number(value) > maxWarmPoolTotal) {
      problems.push(`${source}: ${what} must be a whole number from 0 to ${maxWarmPoolTotal}, got '${value}'`);
      return undefined;
    }
    return Number(value);
  };
  if (!trimmed.includes('=')) {
    const size = sizeOf(trimmed, 'the pool size');
    if (size !== undefined && size > 0) sizes.set(defaultWarmPoolTemplate, size);
    return { sizes: Object.fromEntries(sizes), problems };
  }
  for (const entry of trimmed.split(',')) {
    const match = /^\s*([^=\s]+)\s*=\s*(\S*)\s*$/.exec(entry);
    if (!match) {
      problems.push(`${source}: expected <template>=<size>, got '${entry.trim()}' (e.g. base=2,code-interpreter-v1=1)`);
      continue;
    }
    const [, given = '', value = ''] = match;
    if (!isTemplateId(given)) {
      problems.push(`${source}: '${given}' is not a template name (1-63 characters of a-z, 0-9, ".", "_" or "-")`);
      continue;
    }
    // Pools are keyed by the template a create resolves to: `code-interpreter` is code-interpreter-v1.
    // (A name like `constructor` must not pick up anything from Object.prototype.)
    const canonical = canonicalTemplateName(given);
    const name = typeof canonical === 'string' ? canonical : given;
    if (sizes.has(name)) {
      problems.push(`${source}: template '${name}' is named twice${name === given ? '' : ` (as '${given}')`}`);
      continue;
    }
    const size = sizeOf(value, `the size of '${name}'`);
    if (size !== undefined) sizes.set(name, size);
  }
  const total = [...sizes.values()].reduce((a, b) => a + b, 0);
  if (total > maxWarmPoolTotal) {
    problems.push(`${source}: the pools hold ${total} sandboxes together, more than ${maxWarmPoolTotal}`);
  }
  if (problems.length > 0) return { sizes: {}, problems };
  return { sizes: Object.fromEntries([...sizes].filter(([, size]) => size > 0)), problems };
}
