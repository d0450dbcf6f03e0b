import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileExists, installOnce, tmpName } from './install-once.js';

/**
 * A copy of a host file, named by content hash, in a world-traversable dir. Bind-mount sources
 * are opened by runc's init as container root (an unprivileged host uid), so a file inside a
 * private (0700) data dir cannot be bind-mounted directly; and a file that its owner may replace
 * (the envd bundle on a rebuild, the node binary on an upgrade) must not be: a replaced bind
 * source breaks the CRIU restore of every sandbox paused on it. A staged copy is never rewritten,
 * so each sandbox keeps the version it started with. The source is re-hashed only when its size
 * or mtime changes, checked with one stat.
 */
export class StagedFile {
  #seen: { key: string; staged: string } | undefined;

  constructor(
    readonly source: string,
    readonly dir: string,
  ) {}

  #staging: { key: string; staged: Promise<string> } | undefined;

  async path(): Promise<string> {
    const stat = await fs.stat(this.source);
    const key = `${stat.size}:${stat.mtimeMs}`;
    if (this.#seen?.key === key) return this.#seen.staged;
    // Concurrent creates share one read and copy of the source (the node binary is ~100 MB).
    if (this.#staging?.key !== key) {
      const staged = this.#stage(stat.mode);
      this.#staging = { key, staged };
      staged.catch(() => {
        if (this.#staging?.staged === staged) this.#staging = undefined;
      });
    }
    const staged = await this.#staging.staged;
    this.#seen = { key, staged };
    return staged;
  }

  async #stage(sourceMode: number): Promise<string> {
    const content = await fs.readFile(this.source);
    const hash = createHash('sha256').update(content).digest('hex').slice(0, 16);
    const ext = path.extname(this.source);
    const staged = path.join(this.dir, `${path.basename(this.source, ext)}-${hash}${ext}`);
    if (!(await fileExists(staged))) {
      await fs.mkdir(this.dir, { recursive: true });
      const tmp = tmpName(staged);
      // Readable by every sandbox's root; executable if the source is.
      const mode = 0o644 | (sourceMode & 0o111);
      await fs.writeFile(tmp, content, { mode });
      await fs.chmod(tmp, mode);
      await installOnce(tmp, staged);
    }
    return staged;
  }
}
