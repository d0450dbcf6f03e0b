import { SandboxdError } from '@sandboxd/common';
import { ConfigError, loadConfig, StartupError } from '@sandboxd/server';
import { doctor } from './commands/doctor.js';
import { serve } from './commands/serve.js';
import { buildTemplatesCommand, setup } from './commands/setup.js';
import { key, team } from './commands/team.js';
import { repoRoot } from './paths.js';

const usage = `usage: sandboxd <command> [flags]

commands:
  serve    set up what is missing, then serve the API and the sandbox proxy
  setup    install and build what sandboxd needs on this machine (idempotent)
  doctor   report what is missing and how to fix it
  template build <name>…   build built-in templates (base, python-data-science, code-interpreter-v1) and their parents
  team     create|set <id> [--plan base|pro] [--max-concurrent N] [--max-runtime S] [--max-paused N] [--max-disk-mib M] | list
  key      create --team <id> [--rate-limit N]   (prints a new API key for the team)

flags (serve): --port <n> --host <addr> --data-dir <dir> --domain <name> --log-level <level>
               --warm-pool <n | template=n,...> --cors-origins <origin,… | *> --skip-setup
flags (setup, serve): --templates <name,…>   built-in templates to build besides base
flags (setup): --for-tests   also install what only the tests use (Debian's chromium)
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...flags] = argv;
  // --skip-setup: the caller vouches that setup already ran (the test harness starts many servers).
  const skipSetup = flags.includes('--skip-setup');
  // --for-tests: `npm test` asks setup for the test-only packages too.
  const forTests = flags.includes('--for-tests');
  const rest = flags.filter((f) => f !== '--skip-setup' && f !== '--for-tests');
  const templates = takeListFlag(rest, '--templates');
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
  if (command === 'template') {
    const [verb, ...names] = rest.filter((a) => !a.startsWith('--'));
    if (verb !== 'build' || names.length === 0) {
      process.stderr.write(`usage: sandboxd template build <name>…\n`);
      return 2;
    }
    const config = loadConfig({ env: process.env, argv: rest.filter((a) => a.startsWith('--')), repoRoot });
    await buildTemplatesCommand(config, names);
    return 0;
  }
  const config = loadConfig({ env: process.env, argv: rest, repoRoot });
  switch (command) {
    case 'setup':
      await setup(config, { templates, forTests });
      return 0;
    case 'serve':
      if (!skipSetup) await setup(config, { templates });
      await serve(config);
      return 0;
    case 'doctor':
      return doctor(config);
    default:
      process.stderr.write(`unknown command '${command}'\n${usage}`);
      return 2;
  }
}

/** Removes `--name a,b` (or `--name=a,b`) from `args` and answers its comma-separated values. */
function takeListFlag(args: string[], name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < args.length; ) {
    const arg = args[i] ?? '';
    if (arg === name) {
      values.push(...(args[i + 1] ?? '').split(','));
      args.splice(i, 2);
    } else if (arg.startsWith(`${name}=`)) {
      values.push(...arg.slice(name.length + 1).split(','));
      args.splice(i, 1);
    } else i++;
  }
  return values.map((v) => v.trim()).filter(Boolean);
}

/** A message and the messages of its causes (a failed build says which step failed, and why). */
function withCauses(err: Error): string {
  const lines = [err.message];
  for (let cause = err.cause; cause instanceof Error; cause = cause.cause) lines.push(`  caused by: ${cause.message}`);
  return lines.join('\n');
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(
      // Configuration, input and start-up (port taken, data directory in use) mistakes are the user's to fix: their message, not a stack.
      `${err instanceof ConfigError || err instanceof StartupError || SandboxdError.is(err) ? withCauses(err) : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exitCode = 1;
  },
);
