import { SandboxdError } from '@sandboxd/common';
import { ConfigError, loadConfig, StartupError } from '@sandboxd/server';
import { doctor } from './commands/doctor.js';
import { serve } from './commands/serve.js';
import { setup } from './commands/setup.js';
import { key, team } from './commands/team.js';
import { repoRoot } from './paths.js';

const usage = `usage: sandboxd <command> [flags]

commands:
  serve    set up what is missing, then serve the API and the sandbox proxy
  setup    install and build what sandboxd needs on this machine (idempotent)
  doctor   report what is missing and how to fix it
  team     create|set <id> [--plan base|pro] [--max-concurrent N] [--max-runtime S] | list
  key      create --team <id> [--rate-limit N]   (prints a new API key for the team)

flags (serve): --port <n> --host <addr> --data-dir <dir> --domain <name> --log-level <level> --skip-setup
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...flags] = argv;
  // --skip-setup: the caller vouches that setup already ran (the test harness starts many servers).
  const skipSetup = flags.includes('--skip-setup');
  const rest = flags.filter((f) => f !== '--skip-setup');
  if (!command || command === 'help' || command === '--help') {
    process.stdout.write(usage);
    return command ? 0 : 2;
  }
  if (command === 'team' || command === 'key') {
    // Their own arguments after the verb; of the server's flags only --data-dir applies.
    const at = rest.indexOf('--data-dir');
    const dataDirFlag = at >= 0 ? rest.splice(at, 2) : [];
    const config = loadConfig({ env: process.env, argv: dataDirFlag, repoRoot });
    return command === 'team' ? team(config, rest) : key(config, rest);
  }
  const config = loadConfig({ env: process.env, argv: rest, repoRoot });
  switch (command) {
    case 'setup':
      await setup(config);
      return 0;
    case 'serve':
      if (!skipSetup) await setup(config);
      await serve(config);
      return 0;
    case 'doctor':
      return doctor(config);
    default:
      process.stderr.write(`unknown command '${command}'\n${usage}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(
      // Configuration, input and start-up (port taken, data directory in use) mistakes are the user's to fix: their message, not a stack.
      `${err instanceof ConfigError || err instanceof StartupError || SandboxdError.is(err) ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exitCode = 1;
  },
);
