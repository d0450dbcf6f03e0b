/**
 * File metadata as E2B stores it: one `user.e2b.<key>` xattr per key (set by X-Metadata-* upload headers),
 * so metadata set with Python's os.setxattr inside the sandbox shows up in getInfo() too. Node has
 * no xattr API; one long-lived `envd-helper xattr` process per envd answers get/set requests over
 * a pipe, in order (runtime/native/envd-helper.c). Started on first use, restarted if it dies.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import os from 'node:os';
import { StringDecoder } from 'node:string_decoder';
import { SandboxdError } from '@sandboxd/common';
import { errnoToError } from './errno.js';

export type FileMetadata = Record<string, string>;

/** E2B's limits: the xattr name `user.e2b.<key>` must fit in 255 bytes; 4 KiB in total. */
const MAX_KEY_BYTES = 246;
const MAX_TOTAL_BYTES = 4096;
const printableAscii = /^[\x20-\x7e]*$/;

const errnoNames = new Map(Object.entries(os.constants.errno).map(([name, value]) => [value, name]));

interface Pending {
  resolve: (fields: string[]) => void;
  reject: (err: Error) => void;
}

export class FileMetadataStore {
  private helper: ChildProcessWithoutNullStreams | undefined;
  private readonly pending: Pending[] = [];

  constructor(private readonly helperPath: string) {}

  /** The file's metadata; empty when it has none or the filesystem keeps no xattrs. */
  async get(filePath: string): Promise<FileMetadata> {
    const fields = await this.request(['g', filePath]).catch(() => []);
    const metadata: FileMetadata = {};
    for (let i = 0; i + 1 < fields.length; i += 2) metadata[fields[i] as string] = fields[i + 1] as string;
    return metadata;
  }

  /** Replaces all of the file's metadata (an empty object clears it). */
  async replace(filePath: string, metadata: FileMetadata): Promise<void> {
    const entries = Object.entries(metadata);
    await this.request(['s', filePath, String(entries.length), ...entries.flat()]).catch((err: unknown) => {
      throw errnoToError(err, filePath);
    });
  }

  close(): void {
    this.helper?.stdin.end();
    this.helper = undefined;
  }

  private request(fields: string[]): Promise<string[]> {
    if (fields.some((f) => f.includes('\0'))) return Promise.reject(new Error('NUL in an xattr request'));
    const helper = this.ensureHelper();
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      helper.stdin.write(fields.map((f) => `${f}\0`).join(''));
    });
  }

  private ensureHelper(): ChildProcessWithoutNullStreams {
    if (this.helper && this.helper.exitCode === null) return this.helper;
    const helper = spawn(this.helperPath, ['xattr'], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.helper = helper;
    helper.stdin.on('error', () => {});
    helper.stderr.resume();
    const gone = () => {
      if (this.helper === helper) this.helper = undefined;
      for (const p of this.pending.splice(0)) p.reject(new Error('the xattr helper exited'));
    };
    helper.once('error', gone);
    helper.once('exit', gone);
    const decoder = new StringDecoder('utf8');
    let partial = '';
    let answer: string[] = [];
    helper.stdout.on('data', (chunk: Buffer) => {
      const pieces = (partial + decoder.write(chunk)).split('\0');
      partial = pieces.pop() ?? '';
      for (const piece of pieces) {
        answer.push(piece);
        const [status, second] = answer;
        if (answer.length < 2) continue;
        if (status === 'err') {
          const code = errnoNames.get(Number(second)) ?? 'EIO';
          this.pending.shift()?.reject(Object.assign(new Error(`xattr: ${code}`), { code }));
          answer = [];
        } else if (answer.length === 2 + 2 * Number(second)) {
          this.pending.shift()?.resolve(answer.slice(2));
          answer = [];
        }
      }
    });
    return helper;
  }
}

/** `X-Metadata-<key>: <value>` request headers → metadata, keys lowercased, E2B's limits checked. */
export function metadataFromHeaders(headers: Record<string, string | string[] | undefined>): FileMetadata {
  const metadata: FileMetadata = {};
  let total = 0;
  for (const [name, raw] of Object.entries(headers)) {
    if (!name.startsWith('x-metadata-') || raw === undefined) continue;
    const key = name.slice('x-metadata-'.length);
    const value = Array.isArray(raw) ? raw.join(', ') : raw;
    if (!key || Buffer.byteLength(key) > MAX_KEY_BYTES || !printableAscii.test(key) || !printableAscii.test(value)) {
      throw new SandboxdError('INVALID_REQUEST', `invalid metadata key or value for '${key}'`);
    }
    total += key.length + value.length;
    metadata[key] = value;
  }
  if (total > MAX_TOTAL_BYTES) {
    throw new SandboxdError('INVALID_REQUEST', `metadata is ${total} bytes, at most ${MAX_TOTAL_BYTES} are allowed`);
  }
  return metadata;
}
