import { runCommand } from '../process/run-command.js';

/**
 * Where `sandboxd setup` installs its CRIU build (4.1.1 + our patch, see packages/cli), and where
 * the runtime tells runc to find it (`runc --criu`): naming the path, rather than trusting PATH,
 * keeps Debian's broken 3.17 (`criu` package) from ever being picked up.
 */
export const defaultCriuBinary = '/usr/local/sbin/criu';

/** `criu check`: true only when CRIU itself says the kernel has what it needs ("Looks good."). */
export async function criuCheck(binary: string = defaultCriuBinary): Promise<{ ok: boolean; detail: string }> {
  try {
    const { stdout, stderr } = await runCommand(binary, ['check'], { timeoutMs: 30_000 });
    const text = `${stdout}\n${stderr}`;
    return { ok: /Looks good/.test(text), detail: text.trim().split('\n').slice(-1)[0] ?? '' };
  } catch (err) {
    return { ok: false, detail: err instanceof Error ? err.message : String(err) };
  }
}
