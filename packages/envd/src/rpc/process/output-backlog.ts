/**
 * Output a process produced while no client was attached, kept so that the next Connect (by pid
 * or tag) replays what was missed before streaming live output. Bounded by bytes: when full, the
 * oldest chunks go first (a ring), so a chatty process nobody watches cannot grow envd's memory.
 */
export interface OutputChunk {
  kind: 'stdout' | 'stderr' | 'pty';
  data: Uint8Array;
}

/** Per process; 256 ended processes are kept for late Connects, so this bounds the worst case. */
const BACKLOG_MAX_BYTES = 256 * 1024;

export class OutputBacklog {
  private chunks: OutputChunk[] = [];
  private bytes = 0;

  constructor(private readonly maxBytes: number = BACKLOG_MAX_BYTES) {}

  get size(): number {
    return this.bytes;
  }

  append(chunk: OutputChunk): void {
    this.chunks.push(chunk);
    this.bytes += chunk.data.byteLength;
    this.trim();
  }

  /** Puts chunks a detaching client never received back in front, keeping their order. */
  prepend(chunks: OutputChunk[]): void {
    if (chunks.length === 0) return;
    this.chunks = [...chunks, ...this.chunks];
    for (const chunk of chunks) this.bytes += chunk.data.byteLength;
    this.trim();
  }

  /** Everything kept, oldest first; the backlog is empty afterwards. */
  take(): OutputChunk[] {
    const chunks = this.chunks;
    this.chunks = [];
    this.bytes = 0;
    return chunks;
  }

  private trim(): void {
    while (this.bytes > this.maxBytes && this.chunks.length > 0) {
      const first = this.chunks[0] as OutputChunk;
      const excess = this.bytes - this.maxBytes;
      if (first.data.byteLength <= excess) {
        this.chunks.shift();
        this.bytes -= first.data.byteLength;
      } else {
        // Keep the newest bytes of a chunk that straddles the limit.
        this.chunks[0] = { kind: first.kind, data: first.data.subarray(excess) };
        this.bytes -= excess;
      }
    }
  }
}
