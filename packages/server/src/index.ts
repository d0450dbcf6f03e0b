export { type Config, ConfigError, loadConfig } from './config.js';
export { type RunningServer, type StartOptions, startServer } from './server.js';
export { StartupError } from './startup-error.js';
export { TeamAdmin, type TeamChange } from './teams/team-admin.js';
