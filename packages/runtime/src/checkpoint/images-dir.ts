import fs from 'node:fs/promises';

/**
 * Who may open the CRIU images. CRIU's restored root task reads timens-<id>.img from inside the
 * new user namespace, racing with CRIU writing its uid_map (criu/cr-restore.c: prepare_timens
 * runs before "Wait prepare_userns"): depending on who wins, it opens the image as host root or
 * as the sandbox's root (host uid/gid `uidBase`), and never with CAP_DAC_OVERRIDE on the host.
 * Owner root + group uidBase + 0750 lets both in (a uidBase-owned 0700 dir failed ~1 restore in
 * 20) and keeps every other host user out: the images hold the sandbox's memory, tokens included.
 */
export async function shareImagesDir(dir: string, uidBase: number): Promise<void> {
  await fs.chown(dir, 0, uidBase);
  await fs.chmod(dir, 0o750);
}
