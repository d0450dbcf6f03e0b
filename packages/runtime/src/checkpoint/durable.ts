import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * fsync helpers: a pause is only reported once what it kept is on stable storage, so a machine
 * that loses power right after `pause` returns still resumes (issue #5, durability).
 */
export async function fsyncPath(p: string): Promise<void> {
  const handle = await fs.open(p, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** fsyncs every regular file under `dir` (a few at a time), then every directory, `dir` last. */
export async function fsyncTree(dir: string): Promise<number> {
  const files: string[] = [];
  const dirs: string[] = [];
  let bytes = 0;
  const walk = async (d: string): Promise<void> => {
    for (const entry of await fs.readdir(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) files.push(full);
    }
    dirs.push(d);
  };
  await walk(dir);
  for (let i = 0; i < files.length; i += 8) {
    await Promise.all(
      files.slice(i, i + 8).map(async (f) => {
        const { size } = await fs.stat(f);
        bytes += size;
        await fsyncPath(f);
      }),
    );
  }
  for (const d of dirs) await fsyncPath(d);
  return bytes;
}

/** Writes a file so that, after a crash, it is either absent or complete: tmp + fsync + rename + fsync(dir). */
export async function writeFileDurable(file: string, content: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  const handle = await fs.open(tmp, 'w', 0o600);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(tmp, file);
  await fsyncPath(path.dirname(file));
}

/** rename + fsync of the parent, so the new name survives a crash. */
export async function renameDurable(from: string, to: string): Promise<void> {
  await fs.rename(from, to);
  await fsyncPath(path.dirname(to));
}
