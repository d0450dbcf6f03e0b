import fs from 'node:fs/promises';

/** Mount points currently in this mount namespace (octal escapes in /proc/self/mounts decoded). */
export async function listMountPoints(): Promise<string[]> {
  const text = await fs.readFile('/proc/self/mounts', 'utf8');
  return text
    .split('\n')
    .map((line) => line.split(' ')[1])
    .filter((m): m is string => Boolean(m))
    .map((m) => m.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8))));
}

/** Loop devices and their backing files, from sysfs (no losetup spawn). */
export async function listLoopDevices(): Promise<Array<{ device: string; backingFile: string }>> {
  const names = await fs.readdir('/sys/block').catch(() => [] as string[]);
  const loops = await Promise.all(
    names
      .filter((n) => n.startsWith('loop'))
      .map(async (n) => {
        const backing = await fs.readFile(`/sys/block/${n}/loop/backing_file`, 'utf8').catch(() => '');
        return { device: `/dev/${n}`, backingFile: backing.trim().replace(/ \(deleted\)$/, '') };
      }),
  );
  return loops.filter((l) => l.backingFile !== '');
}
