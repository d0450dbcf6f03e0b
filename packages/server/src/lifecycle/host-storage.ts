import fs from 'node:fs/promises';
import { SandboxdError } from '@sandboxd/common';

export const MiB = 1024 * 1024;

/**
 * How a create is admitted against the host's free space:
 * - `headroom`: the new sandbox must fit at its full disk size beside what is written already and
 *   what operations in flight may still write. Disks are sparse and most stay small, so the disks
 *   of running sandboxes may together promise more than the host has (thin provisioning).
 * - `strict`: also keeps room for every running sandbox to grow to its full disk, so a sandbox
 *   filling its disk always gets ENOSPC inside, whatever the others do; on a small host this
 *   caps how many sandboxes run at once.
 */
export type DiskAdmissionPolicy = 'headroom' | 'strict';

export interface HostStorageOptions {
  /** A directory on the filesystem that holds the sandboxes' disks and pause images. */
  dir: string;
  /** Bytes kept free for the host: no admission may plan to use them. */
  reserveBytes: number;
  policy: DiskAdmissionPolicy;
  /** Bytes the running sandboxes' disks may still grow by (strict only). */
  committedGrowth?: () => Promise<number>;
  /** Free bytes for unprivileged writers on `dir`'s filesystem; statfs unless a test says otherwise. */
  readFree?: (dir: string) => Promise<number>;
}

export interface StorageFigures {
  freeBytes: number;
  reserveBytes: number;
  /** What admitted pauses (and, strict, creates) may still write. */
  inFlightBytes: number;
  /** Strict policy: what running sandboxes' disks may still grow by (0 under headroom). */
  committedBytes: number;
}

async function statfsFree(dir: string): Promise<number> {
  const s = await fs.statfs(dir);
  return s.bavail * s.bsize;
}

/**
 * Admission against the host's real free space. An admitted pause holds a reservation of what it
 * may write until it is done (its bytes are then on disk, counted by statfs), so parallel pauses
 * cannot all pass the same check: the reservations are read after the statfs and taken in the
 * same synchronous step. A create's hold depends on the policy (see admitDisk).
 */
export class HostStorage {
  #inFlight = 0;
  #last: StorageFigures;
  readonly #readFree: (dir: string) => Promise<number>;

  constructor(private readonly o: HostStorageOptions) {
    this.#readFree = o.readFree ?? statfsFree;
    this.#last = { freeBytes: 0, reserveBytes: o.reserveBytes, inFlightBytes: 0, committedBytes: 0 };
  }

  /**
   * An operation that writes up to `bytes` now (a memory pause's images): reserved until its
   * release. Throws STORAGE_EXHAUSTED (507) when free − reserve − in flight (− committed growth)
   * cannot hold it.
   */
  admitWrite(bytes: number, what: string): Promise<() => void> {
    return this.#admit(bytes, bytes, what);
  }

  /**
   * A new disk of `bytes` (a create): it must fit at its full size now. Under `headroom` it holds
   * nothing meanwhile (creates in parallel are each checked on their own, as sequential ones
   * are); under `strict` it holds its size until the release, when its growth counts as committed.
   */
  admitDisk(bytes: number, what: string): Promise<() => void> {
    return this.#admit(bytes, this.o.policy === 'strict' ? bytes : 0, what);
  }

  async #admit(needBytes: number, holdBytes: number, what: string): Promise<() => void> {
    // In flight is read here, after the await, and taken in the same step: read inside figures(),
    // it could be stale by the time this continues (another admission may have run in between).
    const figures = { ...(await this.figures()), inFlightBytes: this.#inFlight };
    const available = figures.freeBytes - figures.reserveBytes - figures.inFlightBytes - figures.committedBytes;
    if (needBytes > available) {
      throw new SandboxdError(
        'STORAGE_EXHAUSTED',
        `not enough free disk space on the host for ${what}: it may write ${mib(needBytes)}, ` +
          `${mib(Math.max(0, available))} is available (${mib(figures.freeBytes)} free, ` +
          `${mib(figures.reserveBytes)} kept in reserve, ${mib(figures.inFlightBytes + figures.committedBytes)} promised to sandboxes)`,
      );
    }
    this.#inFlight += holdBytes;
    this.#last = { ...figures, inFlightBytes: this.#inFlight };
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#inFlight -= holdBytes;
      this.#last = { ...this.#last, inFlightBytes: this.#inFlight };
    };
  }

  /** Current figures (for metrics and admission). */
  async figures(): Promise<StorageFigures> {
    const [freeBytes, committedBytes] = await Promise.all([
      this.#readFree(this.o.dir),
      this.o.policy === 'strict' && this.o.committedGrowth ? this.o.committedGrowth() : Promise.resolve(0),
    ]);
    this.#last = { freeBytes, reserveBytes: this.o.reserveBytes, inFlightBytes: this.#inFlight, committedBytes };
    return this.#last;
  }

  /** The figures of the last check (for metrics, which must not wait on the disk). */
  lastFigures(): StorageFigures {
    return this.#last;
  }
}

function mib(bytes: number): string {
  return `${Math.round(bytes / MiB)} MiB`;
}
