import fs from 'node:fs/promises';
import path from 'node:path';
import type { SandboxLimits } from '../runtime.js';

/**
 * `<stateDir>/sandboxes/<id>/sandbox.json`: enough for another process to find and remove every
 * host resource the sandbox owns (slot → veth, uid range, address) after a crash.
 */
export interface SandboxRecord {
  sandboxId: string;
  templateId: string;
  /** The template build it was made on (template-builds.ts); absent in records of older versions. */
  templateBuild?: string;
  slot: number;
  uidBase: number;
  address: string;
  hostAddress: string;
  veth: string;
  limits: SandboxLimits;
  createdAt: string;
}

export const recordFileName = 'sandbox.json';

export async function writeRecord(sandboxDir: string, record: SandboxRecord): Promise<void> {
  await fs.writeFile(path.join(sandboxDir, recordFileName), `${JSON.stringify(record, null, 2)}\n`);
}

export async function readRecord(sandboxDir: string): Promise<SandboxRecord | undefined> {
  try {
    return JSON.parse(await fs.readFile(path.join(sandboxDir, recordFileName), 'utf8')) as SandboxRecord;
  } catch {
    return undefined;
  }
}
