import { createHash } from 'node:crypto';

/**
 * What goes into a template. The marker written next to a built rootfs carries the hash of this
 * recipe; a build is skipped while the hash matches, and redone when anything here changes.
 * Bump `revision` when the build steps change in a way the data below does not show.
 */
export interface TemplateRecipe {
  revision: number;
  suite: string;
  mirror: string;
  packages: readonly string[];
  user: { name: string; uid: number; gid: number; home: string; shell: string };
  hostname: string;
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

export const recipes: Readonly<Record<string, TemplateRecipe>> = { base: baseRecipe };

export function recipeHash(recipe: TemplateRecipe): string {
  return createHash('sha256').update(JSON.stringify(recipe)).digest('hex').slice(0, 16);
}
