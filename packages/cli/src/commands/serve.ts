import { createLogger } from '@sandboxd/common';
import { type Config, startServer } from '@sandboxd/server';

/** Runs the server until SIGTERM/SIGINT; prints how to point the e2b SDK at it. */
export async function serve(config: Readonly<Config>): Promise<void> {
  const logger = createLogger({ level: config.logLevel });
  const server = await startServer(config, logger);
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
    ].join('\n'),
  );
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info('shutting down; sandboxes keep running', { signal });
      void server.close().then(resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
