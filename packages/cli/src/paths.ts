import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file lives at packages/cli/src/paths.ts). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
