/**
 * Whether this host can run real sandboxes, for tests that need them (runc, CRIU, root, a built
 * template). A contributor without them gets a skip that says what is missing and how to get it;
 * CI never skips: there a missing requirement must fail loudly, so the option is always "run".
 *
 *   describe('pause and resume', needsSandboxHost, () => { … });
 */
import { checkHost } from '../host/check-host.js';

async function missingRequirements(): Promise<string | false> {
  if (process.env.CI) return false;
  if (process.getuid?.() !== 0)
    return 'needs root and a set-up host: run `npm test` as root (it runs `sandboxd setup`)';
  const failed = (await checkHost()).filter((c) => !c.ok);
  if (failed.length === 0) return false;
  return `host not set up for sandboxes (${failed.map((c) => c.name).join('; ')}): run \`npm run setup\` as root, then \`npm run doctor\``;
}

/** Test options: `{ skip: reason }` when this host cannot run sandboxes, `{}` otherwise. */
export const needsSandboxHost: { skip?: string } = await missingRequirements().then((reason) =>
  reason ? { skip: reason } : {},
);
