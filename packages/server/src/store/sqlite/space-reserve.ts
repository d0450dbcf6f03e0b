import fs from 'node:fs';

/**
 * A file of zeros beside the database, given up when the disk is full so that a kill can still be
 * recorded: on a full disk every other write answers 507, but a kill is how space comes back (its
 * disk image goes), so it must not be refused for want of the few kilobytes its row change needs.
 * Made again once the filesystem has room for it several times over.
 */
export class SpaceReserve {
  #present = false;

  constructor(
    readonly file: string,
    readonly bytes: number,
  ) {
    this.ensure();
  }

  /** Makes the file when it is missing and there is room; never throws (a reserve is best effort). */
  ensure(): void {
    if (this.#present || this.bytes <= 0) return;
    try {
      if ((fs.statSync(this.file, { throwIfNoEntry: false })?.size ?? 0) >= this.bytes) {
        this.#present = true;
        return;
      }
      const { bavail, bsize } = fs.statfsSync(this.file.slice(0, this.file.lastIndexOf('/')) || '/');
      if (bavail * bsize < 4 * this.bytes) return;
      // Zeros written, not a sparse truncate: the blocks must really be held.
      fs.writeFileSync(this.file, Buffer.alloc(this.bytes), { mode: 0o600 });
      this.#present = true;
    } catch {
      fs.rmSync(this.file, { force: true });
    }
  }

  /** Frees the reserve; true when there was one to free. */
  release(): boolean {
    const had = this.#present || fs.existsSync(this.file);
    fs.rmSync(this.file, { force: true });
    this.#present = false;
    return had;
  }

  get present(): boolean {
    return this.#present;
  }
}
