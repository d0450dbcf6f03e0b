import { type Config, TeamAdmin, type TeamChange } from '@sandboxd/server';

/**
 * `sandboxd team create|set|list` and `sandboxd key create`: the operator's verbs for teams,
 * their plans and limits, and API keys. They work on the data directory's database, also while
 * a server runs.
 */
export function parseTeamFlags(args: string[]): {
  positional: string[];
  change: TeamChange;
  rate?: number;
  team?: string;
} {
  const positional: string[] = [];
  const change: TeamChange = {};
  let rate: number | undefined;
  let team: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    const value = () => {
      const v = args[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === '--plan') change.plan = value();
    else if (arg === '--max-concurrent') change.maxConcurrentSandboxes = Number(value());
    else if (arg === '--max-runtime') change.maxRuntimeSeconds = Number(value());
    else if (arg === '--max-paused') change.maxPausedSandboxes = Number(value());
    else if (arg === '--max-disk-mib') change.maxDiskMiB = Number(value());
    else if (arg === '--rate-limit') rate = Number(value());
    else if (arg === '--team') team = value();
    else if (arg.startsWith('--')) throw new Error(`unknown flag ${arg}`);
    else positional.push(arg);
  }
  return { positional, change, ...(rate === undefined ? {} : { rate }), ...(team === undefined ? {} : { team }) };
}

export function team(config: Readonly<Config>, args: string[]): number {
  const [verb, ...rest] = args;
  const { positional, change } = parseTeamFlags(rest);
  const admin = TeamAdmin.open(config);
  try {
    if (verb === 'list') {
      for (const t of admin.listTeams()) {
        process.stdout.write(
          `${t.id}\tplan=${t.plan}\tmax-concurrent=${t.maxConcurrentSandboxes}\tmax-runtime=${t.maxRuntimeSeconds}s` +
            `\tmax-paused=${t.maxPausedSandboxes}\tmax-disk=${t.maxDiskMiB}MiB\n`,
        );
      }
      return 0;
    }
    const [id] = positional;
    if ((verb !== 'create' && verb !== 'set') || !id) {
      process.stderr.write(
        'usage: sandboxd team create|set <id> [--plan base|pro] [--max-concurrent N] [--max-runtime SECONDS]\n' +
          '         [--max-paused N] [--max-disk-mib MIB]\n       sandboxd team list\n',
      );
      return 2;
    }
    const t = verb === 'create' ? admin.createTeam(id, change) : admin.updateTeam(id, change);
    process.stdout.write(`${JSON.stringify(t)}\n`);
    return 0;
  } finally {
    admin.close();
  }
}

export function key(config: Readonly<Config>, args: string[]): number {
  const [verb, ...rest] = args;
  const { team: teamId, rate } = parseTeamFlags(rest);
  if (verb !== 'create' || !teamId) {
    process.stderr.write('usage: sandboxd key create --team <id> [--rate-limit REQUESTS_PER_SECOND]\n');
    return 2;
  }
  const admin = TeamAdmin.open(config);
  try {
    // The key alone on stdout, so scripts can capture it; it is not shown again.
    process.stdout.write(`${admin.createKey(teamId, rate)}\n`);
    return 0;
  } finally {
    admin.close();
  }
}
