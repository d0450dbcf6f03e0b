/*
 * pty-helper: the two terminal operations Node cannot do without a native addon, for envd's PTY
 * processes (pty.create / pty.resize of the e2b SDK). envd itself opens /dev/ptmx and keeps the
 * master end; it hands the master to this helper as fd 3.
 *
 *   pty-helper exec ROWS COLS UID -- FILE ARG...
 *       unlockpt + initial window size on the master, a new session whose controlling terminal
 *       is the slave, the slave as fds 0-2 (owned by UID, mode 0620 like a login tty), then
 *       execvp(FILE). The pid envd spawned is the pid of FILE: there is no relay process.
 *   pty-helper resize ROWS COLS
 *       TIOCSWINSZ on the master; the kernel sends SIGWINCH to the foreground process group.
 *
 * Built statically by the runtime's setup (it runs inside sandboxes of any template) and
 * bind-mounted read-only at /opt/sandboxd/pty-helper.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#define MASTER_FD 3

static int parse_u16(const char *s, unsigned short *out) {
  char *end;
  long v = strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || v < 1 || v > 65535) return -1;
  *out = (unsigned short)v;
  return 0;
}

static int set_size(int fd, const char *rows, const char *cols) {
  struct winsize ws = {0};
  if (parse_u16(rows, &ws.ws_row) || parse_u16(cols, &ws.ws_col)) {
    fprintf(stderr, "pty-helper: invalid size %s x %s\n", rows, cols);
    return -1;
  }
  if (ioctl(fd, TIOCSWINSZ, &ws) < 0) {
    perror("pty-helper: TIOCSWINSZ");
    return -1;
  }
  return 0;
}

static int exec_on_pty(int argc, char **argv) {
  /* argv: exec ROWS COLS UID -- FILE ARG... */
  if (argc < 7 || strcmp(argv[5], "--") != 0) {
    fprintf(stderr, "usage: pty-helper exec ROWS COLS UID -- FILE ARG...\n");
    return 2;
  }
  char *end;
  long uid = strtol(argv[4], &end, 10);
  if (*argv[4] == '\0' || *end != '\0' || uid < 0) {
    fprintf(stderr, "pty-helper: invalid uid %s\n", argv[4]);
    return 2;
  }
  if (unlockpt(MASTER_FD) < 0) {
    perror("pty-helper: unlockpt");
    return 126;
  }
  if (set_size(MASTER_FD, argv[2], argv[3]) < 0) return 126;
  char name[64];
  if (ptsname_r(MASTER_FD, name, sizeof name) != 0) {
    perror("pty-helper: ptsname");
    return 126;
  }
  /* envd spawns us detached, so we may already lead a session; that is what we want. */
  if (getsid(0) != getpid() && setsid() < 0) {
    perror("pty-helper: setsid");
    return 126;
  }
  int slave = open(name, O_RDWR | O_NOCTTY);
  if (slave < 0) {
    perror("pty-helper: open slave");
    return 126;
  }
  if (ioctl(slave, TIOCSCTTY, 0) < 0) {
    perror("pty-helper: TIOCSCTTY");
    return 126;
  }
  /* Owned by the user who runs in it, so `tty`, `script` or `mesg` work as they do over ssh. */
  if (fchown(slave, (uid_t)uid, (gid_t)-1) < 0 || fchmod(slave, 0620) < 0) {
    perror("pty-helper: chown slave");
    return 126;
  }
  for (int fd = 0; fd <= 2; fd++) {
    if (dup2(slave, fd) < 0) return 126;
  }
  if (slave > 2) close(slave);
  close(MASTER_FD);
  execvp(argv[6], &argv[6]);
  /* stderr is the terminal now: the user sees why nothing started. */
  fprintf(stderr, "pty-helper: exec %s: %s\r\n", argv[6], strerror(errno));
  return 127;
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "exec") == 0) return exec_on_pty(argc, argv);
  if (argc == 4 && strcmp(argv[1], "resize") == 0) return set_size(MASTER_FD, argv[2], argv[3]) < 0 ? 1 : 0;
  fprintf(stderr, "usage: pty-helper exec ROWS COLS UID -- FILE ARG... | pty-helper resize ROWS COLS\n");
  return 2;
}
