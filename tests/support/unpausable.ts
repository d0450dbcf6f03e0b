import assert from 'node:assert/strict';
import type { Sandbox } from 'e2b';

/**
 * A process that makes every pause of its sandbox fail: it ptrace-attaches its own child, and CRIU
 * cannot seize a task someone else already traces. A tenant can always do this.
 */
const tracer = `import ctypes, os, signal, time
libc = ctypes.CDLL(None, use_errno=True)
pid = os.fork()
if pid == 0:
    libc.ptrace(0, 0, None, None)  # PTRACE_TRACEME
    os.kill(os.getpid(), signal.SIGSTOP)
    while True:
        time.sleep(1)
os.waitpid(pid, os.WUNTRACED)
open('/tmp/traced', 'w').write(str(pid))
while True:
    time.sleep(1)
`;

/** Starts the tracer in `sbx` and resolves once its child is traced. */
export async function makeUnpausable(sbx: Sandbox): Promise<void> {
  await sbx.files.write('/home/user/tracer.py', tracer);
  await sbx.commands.run('python3 /home/user/tracer.py', { background: true, timeoutMs: 0 });
  const traced = await sbx.commands.run(
    'for i in $(seq 100); do [ -s /tmp/traced ] && break; sleep 0.1; done; grep TracerPid /proc/$(cat /tmp/traced)/status',
  );
  assert.doesNotMatch(traced.stdout, /TracerPid:\s+0\b/, 'the child is traced');
}
