import os from 'node:os';
import path from 'node:path';
import { type Logger, silentLogger } from '@sandboxd/common';
import { ENVD_PORT } from '@sandboxd/protocol';
import { defaultCriuBinary } from '../host/criu.js';
import { defaultHelpersDir, nativeDir } from '../host/ensure-helpers.js';
import { defaultTemplatesDir } from '../images/template-paths.js';
import { defaultSlotsDir } from '../slots/slot-claims.js';
import { defaultSnapshotsDir } from '../snapshots/snapshot-record.js';

export interface RuncRuntimeOptions {
  /** Per-server state: `<stateDir>/sandboxes/<id>/` and runc's `--root <stateDir>/runc`. */
  stateDir: string;
  /** Machine-wide template store (default /var/lib/sandboxd/templates). */
  templatesDir?: string;
  /**
   * Machine-wide ready snapshots, shared by every server (default: defaultSnapshotsDir, i.e.
   * /var/lib/sandboxd/snapshots). With the templates because a snapshot belongs to a template
   * build; best on the same filesystem as the state dirs, so a restore can hard-link its images.
   */
  snapshotsDir?: string;
  /** Where idmount and the network hook are installed (default /var/lib/sandboxd/helpers). */
  helpersDir?: string;
  /** Machine-wide slot claims (default /var/lib/sandboxd/slots); shared by every server. */
  slotsDir?: string;
  /**
   * Machine-wide, world-traversable dir for mount points and the staged envd bundle
   * (default /run/sandboxd); see sandbox-paths.ts for why they cannot live in stateDir.
   */
  runDir?: string;
  /** envd's single-file bundle, bind-mounted read-only as /opt/sandboxd/envd.mjs. */
  envdBundlePath: string;
  /** Host node binary run as envd's interpreter (default: this process's), staged into helpersDir. */
  nodeBinary?: string;
  /** Sources of the helpers (default: this package's native/); tests make new versions appear here. */
  helperSourcesDir?: string;
  /** Static init reaping zombies as PID 1 (default /usr/bin/tini-static). */
  initBinary?: string;
  runcBinary?: string;
  /** CRIU for pause/resume (default: the build `sandboxd setup` installs, /usr/local/sbin/criu). */
  criuBinary?: string;
  logger?: Logger;
  /** How long create waits for envd's /health (default 15 s). */
  healthTimeoutMs?: number;
  /** Sandbox boots at once; more creates wait in line (default twice the CPUs, at least 2). */
  maxConcurrentCreates?: number;
  envdPort?: number;
  /**
   * Fault injection, for tests only: runs before each step of create, pause, resume and teardown
   * (`teardown:<step>`); throwing from it fails that step as if the step itself had failed.
   */
  beforeStep?: (step: string, sandboxId: string) => void | Promise<void>;
}

export type ResolvedOptions = Required<Omit<RuncRuntimeOptions, 'beforeStep'>> & Pick<RuncRuntimeOptions, 'beforeStep'>;

export function resolveOptions(options: RuncRuntimeOptions): ResolvedOptions {
  const templatesDir = path.resolve(options.templatesDir ?? defaultTemplatesDir);
  return {
    helpersDir: defaultHelpersDir,
    slotsDir: defaultSlotsDir,
    runDir: '/run/sandboxd',
    nodeBinary: process.execPath,
    helperSourcesDir: nativeDir,
    initBinary: '/usr/bin/tini-static',
    runcBinary: 'runc',
    criuBinary: defaultCriuBinary,
    logger: silentLogger,
    healthTimeoutMs: 15_000,
    maxConcurrentCreates: Math.max(2, os.availableParallelism() * 2),
    envdPort: ENVD_PORT,
    ...options,
    stateDir: path.resolve(options.stateDir),
    templatesDir,
    snapshotsDir: path.resolve(options.snapshotsDir ?? defaultSnapshotsDir(templatesDir)),
  };
}
