/**
 * How a process ended, in the shape of E2B's EndEvent: `exitCode` −1 and `exited:false`
 * when a signal killed it, `status` worded like Go's os.ProcessState ("exit status 3",
 * "signal: killed"), and `error` set for every unsuccessful end.
 */
export interface ExitInfo {
  exitCode: number;
  exited: boolean;
  status: string;
  error?: string;
}

// Go's signal descriptions for the signals users actually meet; others fall back to the name.
const signalWords: Partial<Record<NodeJS.Signals, string>> = {
  SIGKILL: 'killed',
  SIGTERM: 'terminated',
  SIGINT: 'interrupt',
  SIGHUP: 'hangup',
  SIGQUIT: 'quit',
  SIGPIPE: 'broken pipe',
  SIGSEGV: 'segmentation fault',
  SIGABRT: 'aborted',
  SIGBUS: 'bus error',
  SIGFPE: 'floating point exception',
  SIGUSR1: 'user defined signal 1',
  SIGUSR2: 'user defined signal 2',
  SIGALRM: 'alarm clock',
};

export function exitInfo(code: number | null, signal: NodeJS.Signals | null): ExitInfo {
  if (code !== null) {
    const status = `exit status ${code}`;
    return code === 0 ? { exitCode: 0, exited: true, status } : { exitCode: code, exited: true, status, error: status };
  }
  const status = `signal: ${signal ? (signalWords[signal] ?? signal) : 'unknown'}`;
  return { exitCode: -1, exited: false, status, error: status };
}
