import assert from 'node:assert/strict';
import { test } from 'node:test';
import { needsSandboxHost } from '../testing/host-requirements.js';
import { createHarness } from '../testing/runtime-fixture.js';

const EAFNOSUPPORT = 97;

/** Families a sandbox must not open, each with a socket type its kernel module would accept. */
const deniedFamilies: Record<string, [family: number, type: number, proto?: number]> = {
  vsock: [40, 1],
  packet: [17, 3],
  alg: [38, 5],
  bluetooth: [31, 3, 1],
  xdp: [44, 3],
  key: [15, 3, 2],
  tipc: [30, 4],
  rds: [21, 5],
  can: [29, 3, 1],
  kcm: [41, 2],
  smc: [43, 1],
  qipcrtr: [42, 2],
  llc: [26, 2],
  appletalk: [5, 2],
  x25: [9, 5],
  pppox: [24, 1],
  nfc: [39, 5],
  mctp: [45, 2],
  unspec: [0, 1],
  'above AF_MAX': [46, 1],
  'high bits set (truncates to AF_UNIX)': [2 ** 32 + 1, 1],
};

/** Families a Linux dev box needs, each with the type it is used with. */
const allowedFamilies: Record<string, [family: number, type: number, proto?: number]> = {
  'unix stream': [1, 1],
  'unix dgram': [1, 2],
  'inet tcp': [2, 1],
  'inet udp': [2, 2],
  'inet6 tcp': [10, 1],
  'netlink route': [16, 3, 0],
};

/**
 * Python inside the sandbox calls socket(2) (and socketpair(2)) with raw numbers through ctypes, so
 * families Python's socket module does not know, and out-of-range ones, are tried as well. Prints
 * one JSON object: name → 0 on success, else errno.
 */
function probeScript(cases: Record<string, [number, number, number?]>, call: 'socket' | 'socketpair'): string {
  const py = `
import ctypes, json, os
libc = ctypes.CDLL(None, use_errno=True)
sysno = {'socket': 41, 'socketpair': 53}['${call}']
out = {}
for name, (family, kind, proto) in json.loads(os.environ['CASES']).items():
    pair = (ctypes.c_int * 2)()
    args = (ctypes.c_long(family), ctypes.c_long(kind), ctypes.c_long(proto))
    fd = libc.syscall(ctypes.c_long(sysno), *args, pair) if sysno == 53 else libc.syscall(ctypes.c_long(sysno), *args)
    out[name] = 0 if fd >= 0 else ctypes.get_errno()
print(json.dumps(out))
`;
  const cases3 = Object.fromEntries(Object.entries(cases).map(([k, [f, ty, p]]) => [k, [f, ty, p ?? 0]]));
  return `CASES='${JSON.stringify(cases3)}' python3 -c "${py.replace(/"/g, '\\"')}"`;
}

test('sockets: only unix, inet, inet6 and netlink can be created', needsSandboxHost, async (t) => {
  const h = await createHarness(t);
  const { endpoint } = await h.create();
  const id = endpoint.sandboxId;
  const run = async (cases: Record<string, [number, number, number?]>, call: 'socket' | 'socketpair') => {
    const r = await h.exec(id, probeScript(cases, call));
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as Record<string, number>;
  };

  await t.test('every other family answers EAFNOSUPPORT, vsock included, even for root', async () => {
    const got = await run(deniedFamilies, 'socket');
    const expected = Object.fromEntries(Object.keys(deniedFamilies).map((k) => [k, EAFNOSUPPORT]));
    assert.deepEqual(got, expected);
  });

  await t.test('socketpair: the same rule', async () => {
    const got = await run({ vsock: [40, 1], packet: [17, 3], 'unix stream': [1, 1] }, 'socketpair');
    assert.deepEqual(got, { vsock: EAFNOSUPPORT, packet: EAFNOSUPPORT, 'unix stream': 0 });
  });

  await t.test('the allowed families work', async () => {
    const got = await run(allowedFamilies, 'socket');
    assert.deepEqual(got, Object.fromEntries(Object.keys(allowedFamilies).map((k) => [k, 0])));
  });

  await t.test('ip (netlink) still lists the sandbox interfaces', async () => {
    const r = await h.exec(id, 'ip -o link show');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\beth0\b/);
    assert.match(r.stdout, /\blo\b/);
  });
});
