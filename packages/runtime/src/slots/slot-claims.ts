import fs from 'node:fs/promises';
import path from 'node:path';
import { SandboxdError } from '@sandboxd/common';
import { type Slot, slotCount, slotFor } from './slot.js';

/** What a claim file says: who holds the slot. */
export interface SlotClaim {
  index: number;
  /** State dir of the runtime that owns the sandbox (per server). */
  stateDir: string;
  sandboxId: string;
  claimedAt: number;
}

export const defaultSlotsDir = '/var/lib/sandboxd/slots';

/**
 * Claims slots with exclusive-create files `<slotsDir>/<index>` (O_EXCL is atomic across
 * processes). Allocation starts after the last index this process handed out, so a slot just
 * released is not reused at once: its veth or netns may still be being torn down asynchronously.
 */
export class SlotClaims {
  #next = Math.floor(Math.random() * slotCount);

  constructor(readonly slotsDir: string = defaultSlotsDir) {}

  async claim(stateDir: string, sandboxId: string): Promise<Slot> {
    await fs.mkdir(this.slotsDir, { recursive: true });
    for (let tries = 0; tries < slotCount; tries++) {
      const index = this.#next;
      this.#next = (this.#next + 1) % slotCount;
      const claim: SlotClaim = { index, stateDir, sandboxId, claimedAt: Date.now() };
      try {
        await fs.writeFile(this.#file(index), JSON.stringify(claim), { flag: 'wx' });
        return slotFor(index);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
    throw new SandboxdError('CAPACITY_EXHAUSTED', 'no free sandbox slot on this machine');
  }

  /**
   * Makes sure `index` is claimed for this sandbox (resume: a paused sandbox keeps its slot, but
   * the claim can be lost, e.g. a machine rebuilt with only the data dir kept). Another holder
   * means the slot cannot come back: its address and uid range belong to someone else now.
   */
  async reclaim(index: number, stateDir: string, sandboxId: string): Promise<Slot> {
    await fs.mkdir(this.slotsDir, { recursive: true });
    const claim: SlotClaim = { index, stateDir, sandboxId, claimedAt: Date.now() };
    await fs.writeFile(this.#file(index), JSON.stringify(claim), { flag: 'wx' }).catch(async (err) => {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = await this.read(index);
      if (holder?.sandboxId !== sandboxId || holder.stateDir !== stateDir) {
        throw new SandboxdError(
          'CAPACITY_EXHAUSTED',
          `slot ${index} of sandbox ${sandboxId} is held by another sandbox`,
        );
      }
    });
    return slotFor(index);
  }

  /**
   * Releases a claim only if it still names this sandbox: after a sweep freed it, another process
   * may hold the same index (and be halfway through writing it), which a stale release must not free.
   */
  async release(index: number, sandboxId: string): Promise<void> {
    const claim = await this.read(index);
    if (!claim || claim.sandboxId !== sandboxId) return;
    await fs.rm(this.#file(index), { force: true });
  }

  async read(index: number): Promise<SlotClaim | undefined> {
    try {
      return JSON.parse(await fs.readFile(this.#file(index), 'utf8')) as SlotClaim;
    } catch {
      return undefined;
    }
  }

  async list(): Promise<SlotClaim[]> {
    const names = await fs.readdir(this.slotsDir).catch(() => [] as string[]);
    const claims = await Promise.all(
      names.filter((n) => /^\d+$/.test(n)).map((n) => this.read(Number.parseInt(n, 10))),
    );
    return claims.filter((c): c is SlotClaim => c !== undefined);
  }

  #file(index: number): string {
    return path.join(this.slotsDir, String(index));
  }
}
