/**
 * The server cannot start for a reason its operator can fix (the data directory is in use, the
 * port is taken): the CLI prints the message alone, without a stack, and exits non-zero.
 */
export class StartupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StartupError';
  }
}
