import { runCommand, tryCommand } from '../process/run-command.js';
import { sandboxNetwork, vethPrefix } from '../slots/slot.js';

/** Chain names are ours alone, so setup and teardown never touch rules other software owns. */
export const inputChain = 'SANDBOXD-IN';
export const forwardChain = 'SANDBOXD-FWD';

/**
 * Idempotent host network setup, shared by every sandboxd on the machine:
 * - a blackhole route for the whole sandbox range: the connected /30 of each live veth wins, and
 *   traffic for a sandbox that is gone never leaves the machine through the default route;
 * - INPUT: packets from sandboxes (by veth name or source range) reach the host only as replies
 *   to connections the host opened (to envd); a sandbox cannot reach the API port or any other
 *   host service, on any host address;
 * - FORWARD: nothing is routed from or to a sandbox (no sandbox → sandbox, no egress).
 */
export async function setupHostNetwork(): Promise<void> {
  await runCommand('ip', ['route', 'replace', 'blackhole', sandboxNetwork]);
  await tryCommand('iptables', ['-w', '-N', inputChain]);
  await tryCommand('iptables', ['-w', '-N', forwardChain]);
  // Rebuild our chains' contents each time (cheap; keeps them exactly as this version wants).
  await runCommand('iptables-restore', ['-w', '--noflush'], {
    input: [
      '*filter',
      `-F ${inputChain}`,
      `-A ${inputChain} -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN`,
      `-A ${inputChain} -j DROP`,
      `-F ${forwardChain}`,
      `-A ${forwardChain} -j DROP`,
      'COMMIT',
      '',
    ].join('\n'),
  });
  const jumps: string[][] = [
    ['INPUT', '-i', `${vethPrefix}+`, '-j', inputChain],
    ['INPUT', '-s', sandboxNetwork, '-j', inputChain],
    ['FORWARD', '-i', `${vethPrefix}+`, '-j', forwardChain],
    ['FORWARD', '-o', `${vethPrefix}+`, '-j', forwardChain],
    ['FORWARD', '-s', sandboxNetwork, '-j', forwardChain],
    ['FORWARD', '-d', sandboxNetwork, '-j', forwardChain],
  ];
  for (const [chain, ...rule] of jumps) {
    if (!chain) continue;
    // -C checks for the rule; insert at the top only when it is missing, so repeated init()s don't stack jumps.
    if (!(await tryCommand('iptables', ['-w', '-C', chain, ...rule]))) {
      await runCommand('iptables', ['-w', '-I', chain, '1', ...rule]);
    }
  }
}
