/**
 * A slot is the machine-wide unit of per-sandbox host identity: an id range for the user
 * namespace, a /30 out of 10.200.0.0/16 and a host veth name. Slots must be unique across every
 * sandboxd process on the machine (they may use different state dirs), hence claims in a shared dir.
 */
export interface Slot {
  index: number;
  /** Host uid/gid that container root (0) maps to; the range is `uidBase .. uidBase + idCount - 1`. */
  uidBase: number;
  /** Host end of the /30, e.g. 10.200.0.1. */
  hostAddress: string;
  /** Sandbox end of the /30 (its eth0), e.g. 10.200.0.2. */
  address: string;
  /** Host-side veth; the `sbxv` prefix is what sweeps and firewall rules match on. */
  veth: string;
}

export const sandboxNetwork = '10.200.0.0/16';
export const vethPrefix = 'sbxv';
export const idCount = 65536;
const firstUid = 100_000;
/** A /16 holds 16384 /30s. */
export const slotCount = 16384;

export function slotFor(index: number): Slot {
  if (!Number.isInteger(index) || index < 0 || index >= slotCount) throw new RangeError(`bad slot ${index}`);
  const offset = index * 4;
  const third = offset >> 8;
  const fourth = offset & 0xff;
  return {
    index,
    uidBase: firstUid + index * idCount,
    hostAddress: `10.200.${third}.${fourth + 1}`,
    address: `10.200.${third}.${fourth + 2}`,
    veth: `${vethPrefix}${index}`,
  };
}
