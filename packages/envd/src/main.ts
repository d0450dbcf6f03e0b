/**
 * envd's entry point, started by tini as PID 1's child (see ARCHITECTURE.md, the runtime): read the config,
 * listen, and take user processes down with us on SIGTERM.
 */
import { createLogger } from '@sandboxd/common';
import { loadEnvdConfig } from './config.js';
import { createEnvd } from './server.js';

const log = createLogger({ level: 'info' }, { component: 'envd' });
const config = loadEnvdConfig();
const { server, processes } = createEnvd(config, log.child({ sandboxId: config.sandboxId }));

server.listen(config.port, config.host, () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  log.info('envd listening', { port });
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    processes.killAll();
    server.close();
    server.closeAllConnections();
    process.exit(0);
  });
}
