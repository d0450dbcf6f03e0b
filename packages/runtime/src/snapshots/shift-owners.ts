import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * Moves every file owner of a copied overlay upper dir from the snapshot's id range to the new
 * sandbox's: the upper is a plain ext4 tree whose owners are host uids (`uidBase + container
 * uid`), while the lower is an idmapped mount made per slot and needs nothing. Ids outside the
 * old range (there should be none) are left alone. Overlay's own xattrs (origin, opaque,
 * whiteouts as 0/0 char devices) do not name uids and survive a chown; a chown clears
 * setuid/setgid bits, which are put back. Not shifted: POSIX ACL entries and namespaced file
 * capabilities (v3, whose root id is a host uid) on files of the upper — the templates'
 * start processes make none. Returns how many entries were changed.
 */
export async function shiftOwners(root: string, fromBase: number, toBase: number, count: number): Promise<number> {
  const shift = (id: number) => (id >= fromBase && id < fromBase + count ? id - fromBase + toBase : id);
  let changed = 0;
  const visit = async (file: string): Promise<void> => {
    const st = await fs.lstat(file);
    const uid = shift(st.uid);
    const gid = shift(st.gid);
    if (uid !== st.uid || gid !== st.gid) {
      await fs.lchown(file, uid, gid);
      if (!st.isSymbolicLink() && (st.mode & 0o6000) !== 0) await fs.chmod(file, st.mode & 0o7777);
      changed++;
    }
    if (!st.isDirectory()) return;
    const names = await fs.readdir(file);
    // Bounded fan-out: a wide dir must not open thousands of lstat calls at once.
    for (let i = 0; i < names.length; i += 64) {
      await Promise.all(names.slice(i, i + 64).map((n) => visit(path.join(file, n))));
    }
  };
  await visit(root);
  return changed;
}
