import { createLogger } from '@sandboxd/common';
import { builtInRecipes, isTemplateBuilt } from '@sandboxd/runtime';
import { type Config, type RunningServer, startServer } from '@sandboxd/server';

/**
 * Runs the server until SIGTERM/SIGINT; prints how to point the e2b SDK at it. The signal handlers
 * come first: a signal during start-up aborts it, and the start undoes what it had started (the
 * warm pool's sandboxes included) instead of the process dying with them left running.
 */
export async function serve(config: Readonly<Config>): Promise<void> {
  const logger = createLogger({ level: config.logLevel });
  const starting = new AbortController();
  let server: RunningServer | undefined;
  let stopped!: () => void;
  const done = new Promise<void>((resolve) => {
    stopped = resolve;
  });
  let stopping = false;
  const stop = (signal: string) => {
    // A second signal must not kill the process halfway (the warm pool's sandboxes would be left
    // running): the shutdown is bounded already.
    if (stopping) {
      logger.warn('already shutting down; it takes a few seconds at most (SIGKILL stops at once)', { signal });
      return;
    }
    stopping = true;
    logger.info('shutting down; sandboxes keep running', { signal });
    if (server) void server.close().then(stopped);
    else starting.abort(new Error(`${signal} during start-up`));
  };
  const onTerm = () => stop('SIGTERM');
  const onInt = () => stop('SIGINT');
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  try {
    server = await startServer(config, logger, { signal: starting.signal });
  } catch (err) {
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
    if (starting.signal.aborted) {
      logger.info('stopped during start-up; everything it had started is undone');
      return;
    }
    throw err;
  }
  if (starting.signal.aborted) {
    // The signal came as the start finished, after its last check.
    await server.close();
    return;
  }
  const base = server.url.replace('://0.0.0.0:', '://127.0.0.1:');
  process.stdout.write(
    [
      '',
      `sandboxd is serving on ${server.url}`,
      '',
      'Use it from the e2b SDK with:',
      `  export E2B_API_URL=${base}`,
      `  export E2B_SANDBOX_URL=${base}`,
      `  export E2B_API_KEY=${server.apiKey ?? '<your key: set SANDBOXD_API_KEY, or see the api-key file in the data directory>'}`,
      '',
      ...(await templateLines(config)),
    ].join('\n'),
  );
  await done;
}

/** Which built-in templates this machine has, and how to build the others. */
async function templateLines(config: Readonly<Config>): Promise<string[]> {
  const names = Object.keys(builtInRecipes);
  const built = await Promise.all(names.map((n) => isTemplateBuilt(config.templatesDir, n)));
  const missing = names.filter((_, i) => !built[i]);
  return [
    `Templates: ${names.filter((_, i) => built[i]).join(', ')}`,
    ...(missing.length ? [`  not built: ${missing.join(', ')} (sandboxd template build <name>)`] : []),
    '',
  ];
}
