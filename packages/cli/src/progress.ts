/**
 * Progress for long set-up steps: `[2/5] Building the base template … 41s` with a spinner on a
 * terminal, and a plain line every 15 s elsewhere (CI logs), so nobody stares at a silent screen.
 */
export interface Progress {
  step<T>(title: string, run: (update: (detail: string) => void) => Promise<T>): Promise<T>;
}

const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export function createProgress(total: number, out: NodeJS.WriteStream = process.stdout): Progress {
  let index = 0;
  const tty = out.isTTY === true;
  return {
    async step(title, run) {
      index++;
      const label = `[${index}/${total}] ${title}`;
      const started = Date.now();
      let detail = '';
      let frame = 0;
      let lastPlain = started;
      const elapsed = () => `${Math.round((Date.now() - started) / 1000)}s`;
      const render = () => {
        if (tty) {
          const line = `${frames[frame++ % frames.length]} ${label} ${elapsed()}${detail ? ` · ${detail}` : ''}`;
          out.write(`\r\x1b[2K${line.slice(0, (out.columns ?? 100) - 1)}`);
        } else if (Date.now() - lastPlain >= 15_000) {
          lastPlain = Date.now();
          out.write(`    … ${label} still running (${elapsed()})${detail ? `: ${detail}` : ''}\n`);
        }
      };
      if (!tty) out.write(`${label}\n`);
      const timer = setInterval(render, tty ? 100 : 1_000);
      try {
        const result = await run((d) => {
          detail = d.replace(/\s+/g, ' ').trim().slice(0, 160);
        });
        clearInterval(timer);
        out.write(`${tty ? '\r\x1b[2K' : ''}✔ ${label} (${elapsed()})\n`);
        return result;
      } catch (err) {
        clearInterval(timer);
        out.write(`${tty ? '\r\x1b[2K' : ''}✘ ${label} (${elapsed()})\n`);
        throw err;
      }
    },
  };
}
