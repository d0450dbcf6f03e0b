import { createHash } from 'node:crypto';

/** A process the template starts at every boot, before the sandbox is handed out (envd runs it). */
export interface StartCommand {
  /** Run with `bash -l -c`. */
  cmd: string;
  user: string;
  cwd: string;
  env?: Readonly<Record<string, string>>;
}

/** Polled (with `bash -c`, as the start command's user) until it exits 0: the template is then ready. */
export interface ReadyCheck {
  cmd: string;
  timeoutMs: number;
}

/** A host file or directory copied into the template (root-owned, world-readable). */
export interface TemplateFile {
  source: string;
  target: string;
}

/**
 * What goes into a template. The marker written next to a built rootfs carries the hash of this
 * recipe (with its parent's and the content of its files); a build is skipped while the hash
 * matches, and redone when anything here changes. Bump `revision` when the build steps change in
 * a way the data below does not show.
 *
 * A recipe either starts from debootstrap (`suite`, `mirror`) or, with `from`, from a copy of
 * another template's rootfs: its `packages` are then the ones added on top.
 */
export interface TemplateRecipe {
  revision: number;
  suite: string;
  mirror: string;
  packages: readonly string[];
  user: { name: string; uid: number; gid: number; home: string; shell: string };
  hostname: string;
  from?: string;
  /** PyPI requirements, each pinned (`name==version`), installed without their dependencies. */
  pip?: readonly string[];
  /** Commands run in the chroot (as root, `sh -c`) after packages and pip, in order. */
  run?: readonly string[];
  files?: readonly TemplateFile[];
  start?: StartCommand;
  ready?: ReadyCheck;
}

/** E2B's `base` template: user `user`, passwordless sudo, python, node, git, build tools. */
export const baseRecipe: TemplateRecipe = {
  revision: 2,
  suite: 'bookworm',
  mirror: 'http://deb.debian.org/debian',
  packages: [
    'bash',
    'sudo',
    'python3',
    // `python` as well: agents call it, and E2B's base has it.
    'python-is-python3',
    'python3-pip',
    'python3-venv',
    'nodejs',
    'npm',
    'git',
    'curl',
    'procps',
    'build-essential',
    'ca-certificates',
    'iproute2',
    'iputils-ping',
    'util-linux',
    'less',
    'file',
    'unzip',
    'zip',
    'nano',
    'vim-tiny',
    'jq',
    'wget',
  ],
  user: { name: 'user', uid: 1000, gid: 1000, home: '/home/user', shell: '/bin/bash' },
  hostname: 'e2b.local',
};

/** Hash of the recipe's own data (a derived template's full hash adds its parent's: template-hash.ts). */
export function recipeHash(recipe: TemplateRecipe): string {
  return createHash('sha256').update(JSON.stringify(recipe)).digest('hex').slice(0, 16);
}
