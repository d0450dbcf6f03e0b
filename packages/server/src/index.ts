export { type Config, ConfigError, loadConfig } from './config.js';
export { type RunningServer, startServer } from './server.js';
export { TeamAdmin, type TeamChange } from './teams/team-admin.js';
