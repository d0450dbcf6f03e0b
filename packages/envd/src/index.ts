// envd runs as its own bundle (dist/envd.mjs); these exports let tests and tools embed it.
export { type EnvdConfig, loadEnvdConfig } from './config.js';
export { createEnvd, type Envd } from './server.js';
