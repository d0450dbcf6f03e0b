/**
 * Users and groups of the sandbox, read from /etc/passwd and /etc/group on every lookup: users can
 * be added inside the sandbox at any time (useradd, apt packages), and the files are tiny.
 */
import fs from 'node:fs/promises';
import { SandboxdError } from '@sandboxd/common';

export interface SandboxUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
  /** Supplementary group ids (from /etc/group membership), primary gid first. */
  groups: number[];
}

export interface UserDatabase {
  passwdFile: string;
  groupFile: string;
}

const systemFiles: UserDatabase = { passwdFile: '/etc/passwd', groupFile: '/etc/group' };

export async function lookupUser(name: string, files: UserDatabase = systemFiles): Promise<SandboxUser> {
  const passwd = await readLines(files.passwdFile);
  for (const line of passwd) {
    const [userName, , uid, gid, , home, shell] = line.split(':');
    if (userName !== name || uid === undefined || gid === undefined) continue;
    const primary = Number(gid);
    const groups = [primary];
    for (const groupLine of await readLines(files.groupFile)) {
      const [, , groupId, members] = groupLine.split(':');
      const id = Number(groupId);
      if (members?.split(',').includes(name) && !groups.includes(id)) groups.push(id);
    }
    return { name, uid: Number(uid), gid: primary, home: home || '/', shell: shell || '/bin/sh', groups };
  }
  throw new SandboxdError('UNKNOWN_USER', `invalid username: '${name}'`);
}

/** uid → name and gid → name, for file owners; numeric ids stay numbers when unnamed. */
export interface IdNames {
  user(uid: number): string;
  group(gid: number): string;
}

export async function loadIdNames(files: UserDatabase = systemFiles): Promise<IdNames> {
  const users = idMap(await readLines(files.passwdFile));
  const groups = idMap(await readLines(files.groupFile));
  return {
    user: (uid) => users.get(uid) ?? String(uid),
    group: (gid) => groups.get(gid) ?? String(gid),
  };
}

function idMap(lines: string[]): Map<number, string> {
  const map = new Map<number, string>();
  for (const line of lines) {
    const [name, , id] = line.split(':');
    if (name && id !== undefined && !map.has(Number(id))) map.set(Number(id), name);
  }
  return map;
}

async function readLines(file: string): Promise<string[]> {
  const text = await fs.readFile(file, 'utf8').catch(() => '');
  return text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
}
