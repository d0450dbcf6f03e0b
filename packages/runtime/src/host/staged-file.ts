import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * A copy of a host file in a world-traversable dir, named by content hash. Bind-mount sources are
 * opened by runc's init as container root (an unprivileged host uid), so a file inside a private
 * (0700) data dir cannot be bind-mounted directly; the envd bundle is staged this way. The copy is
 * refreshed when the source's size or mtime changes (a rebuilt bundle), checked with one stat.
 */
export class StagedFile {
  #seen: { key: string; staged: string } | undefined;

  constructor(
    readonly source: string,
    readonly dir: string,
  ) {}

  async path(): Promise<string> {
    const stat = await fs.stat(this.source);
    const key = `${stat.size}:${stat.mtimeMs}`;
    if (this.#seen?.key === key) return this.#seen.staged;
    const content = await fs.readFile(this.source);
    const hash = createHash('sha256').update(content).digest('hex').slice(0, 16);
    const ext = path.extname(this.source);
    const staged = path.join(this.dir, `${path.basename(this.source, ext)}-${hash}${ext}`);
    if (
      !(await fs.stat(staged).then(
        () => true,
        () => false,
      ))
    ) {
      await fs.mkdir(this.dir, { recursive: true });
      const tmp = `${staged}.${process.pid}.tmp`;
      await fs.writeFile(tmp, content, { mode: 0o644 });
      await fs.rename(tmp, staged);
    }
    this.#seen = { key, staged };
    return staged;
  }
}
