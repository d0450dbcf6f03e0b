import { randomBytes } from 'node:crypto';

/**
 * Sandbox ids appear in host names (`<port>-<id>.<domain>`), file paths, cgroup paths and
 * runc container names, so they are lowercase DNS-label characters only, validated in one place.
 */
const sandboxIdPattern = /^[a-z0-9]{8,40}$/;
const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';

export function newSandboxId(): string {
  const bytes = randomBytes(20);
  let id = '';
  for (const b of bytes) id += alphabet[b % alphabet.length];
  return id;
}

export function isSandboxId(value: string): boolean {
  return sandboxIdPattern.test(value);
}

/** Template names: used as directory names, so the same care applies. */
const templateIdPattern = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export function isTemplateId(value: string): boolean {
  return templateIdPattern.test(value) && !value.includes('..');
}

export function randomToken(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}
