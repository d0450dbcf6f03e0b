/*
 * envd-helper: the few kernel interfaces Node has no API for, used by envd inside sandboxes.
 * Terminals (pty.create / pty.resize of the e2b SDK): envd itself opens /dev/ptmx and keeps the
 * master end; it hands the master to this helper as fd 3.
 *
 *   envd-helper exec ROWS COLS UID -- FILE ARG...
 *       unlockpt + initial window size on the master, a new session whose controlling terminal
 *       is the slave, the slave as fds 0-2 (owned by UID, mode 0620 like a login tty), then
 *       execvp(FILE). The pid envd spawned is the pid of FILE: there is no relay process.
 *   envd-helper resize ROWS COLS
 *       TIOCSWINSZ on the master; the kernel sends SIGWINCH to the foreground process group.
 *
 * Watching (filesystem.WatchDir): Node's fs.watch folds inotify's events into "rename" and
 * "change", losing RENAME and CHMOD (events E2B's WatchDir reports), so envd reads raw inotify through
 *
 *   envd-helper watch
 *       stdin: commands, each NUL-terminated: "a<path>" adds a watch, "r<wd>" removes one;
 *       EOF ends the helper (envd closed the watch or died).
 *       stdout: records of five NUL-terminated fields:
 *         "ev", wd, mask (decimal), cookie, name   an inotify event ("" name for the dir itself)
 *         "add", wd or -errno, "", "", path        the answer to an "a" command
 *
 * File metadata (E2B stores it as user.e2b.<key> xattrs):
 *
 *   envd-helper xattr
 *       a long-lived server; requests and answers are NUL-terminated fields, answered in order:
 *         "g", path                        -> "ok", n, key1, value1, ...  (prefix stripped)
 *         "s", path, n, key1, value1, ...  -> "ok", "0"   (replaces every user.e2b.* attr)
 *       failures answer "err", errno. Links are not followed (l*xattr).
 *
 * Built statically by the runtime's setup (it runs inside sandboxes of any template) and
 * bind-mounted read-only at /opt/sandboxd/envd-helper.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
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
    fprintf(stderr, "envd-helper: invalid size %s x %s\n", rows, cols);
    return -1;
  }
  if (ioctl(fd, TIOCSWINSZ, &ws) < 0) {
    perror("envd-helper: TIOCSWINSZ");
    return -1;
  }
  return 0;
}

static int exec_on_pty(int argc, char **argv) {
  /* argv: exec ROWS COLS UID -- FILE ARG... */
  if (argc < 7 || strcmp(argv[5], "--") != 0) {
    fprintf(stderr, "usage: envd-helper exec ROWS COLS UID -- FILE ARG...\n");
    return 2;
  }
  char *end;
  long uid = strtol(argv[4], &end, 10);
  if (*argv[4] == '\0' || *end != '\0' || uid < 0) {
    fprintf(stderr, "envd-helper: invalid uid %s\n", argv[4]);
    return 2;
  }
  if (unlockpt(MASTER_FD) < 0) {
    perror("envd-helper: unlockpt");
    return 126;
  }
  if (set_size(MASTER_FD, argv[2], argv[3]) < 0) return 126;
  char name[64];
  if (ptsname_r(MASTER_FD, name, sizeof name) != 0) {
    perror("envd-helper: ptsname");
    return 126;
  }
  /* envd spawns us detached, so we may already lead a session; that is what we want. */
  if (getsid(0) != getpid() && setsid() < 0) {
    perror("envd-helper: setsid");
    return 126;
  }
  int slave = open(name, O_RDWR | O_NOCTTY);
  if (slave < 0) {
    perror("envd-helper: open slave");
    return 126;
  }
  if (ioctl(slave, TIOCSCTTY, 0) < 0) {
    perror("envd-helper: TIOCSCTTY");
    return 126;
  }
  /* Owned by the user who runs in it, so `tty`, `script` or `mesg` work as they do over ssh. */
  if (fchown(slave, (uid_t)uid, (gid_t)-1) < 0 || fchmod(slave, 0620) < 0) {
    perror("envd-helper: chown slave");
    return 126;
  }
  for (int fd = 0; fd <= 2; fd++) {
    if (dup2(slave, fd) < 0) return 126;
  }
  if (slave > 2) close(slave);
  close(MASTER_FD);
  execvp(argv[6], &argv[6]);
  /* stderr is the terminal now: the user sees why nothing started. */
  fprintf(stderr, "envd-helper: exec %s: %s\r\n", argv[6], strerror(errno));
  return 127;
}

#define WATCH_MASK                                                                                        \
  (IN_CREATE | IN_DELETE | IN_MODIFY | IN_ATTRIB | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | \
   IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK)

static void put_record(const char *kind, long a, unsigned long b, unsigned long c, const char *name) {
  /* One fprintf per record; stdout is fully buffered and flushed after each batch. */
  fprintf(stdout, "%s%c%ld%c%lu%c%lu%c%s%c", kind, 0, a, 0, b, 0, c, 0, name, 0);
}

static void run_command(int ifd, const char *cmd) {
  if (cmd[0] == 'a') {
    int wd = inotify_add_watch(ifd, cmd + 1, WATCH_MASK);
    put_record("add", wd < 0 ? -errno : wd, 0, 0, cmd + 1);
  } else if (cmd[0] == 'r') {
    inotify_rm_watch(ifd, atoi(cmd + 1));
  }
}

static int watch_loop(void) {
  int ifd = inotify_init1(IN_CLOEXEC);
  if (ifd < 0) {
    perror("envd-helper: inotify_init1");
    return 1;
  }
  static char cmds[65536];
  size_t used = 0;
  char events[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
  struct pollfd fds[2] = {{.fd = 0, .events = POLLIN}, {.fd = ifd, .events = POLLIN}};
  for (;;) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    if (fds[1].revents & POLLIN) {
      ssize_t n = read(ifd, events, sizeof events);
      for (char *p = events; n > 0 && p < events + n;) {
        struct inotify_event *ev = (struct inotify_event *)p;
        put_record("ev", ev->wd, ev->mask, ev->cookie, ev->len ? ev->name : "");
        p += sizeof(struct inotify_event) + ev->len;
      }
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = read(0, cmds + used, sizeof cmds - used);
      if (n <= 0) return 0; /* envd went away or closed the watch */
      used += (size_t)n;
      size_t start = 0;
      for (size_t i = 0; i < used; i++) {
        if (cmds[i] != '\0') continue;
        run_command(ifd, cmds + start);
        start = i + 1;
      }
      memmove(cmds, cmds + start, used - start);
      used -= start;
      if (used == sizeof cmds) used = 0; /* an absurdly long command: drop it */
    }
    fflush(stdout);
  }
}

#define XATTR_PREFIX "user.e2b."
#define MAX_FIELDS 1024

static void put_field(const char *s) { fwrite(s, 1, strlen(s) + 1, stdout); }

static void put_err(int err) {
  char n[16];
  snprintf(n, sizeof n, "%d", err);
  put_field("err");
  put_field(n);
}

static void xattr_get(const char *path) {
  static char names[65536], value[65536];
  ssize_t len = llistxattr(path, names, sizeof names);
  if (len < 0) {
    if (errno == ENOTSUP) len = 0;
    else return put_err(errno);
  }
  /* Two passes: count the usable attributes, then print them. */
  const size_t plen = strlen(XATTR_PREFIX);
  int count = 0;
  for (int pass = 0; pass < 2; pass++) {
    if (pass == 1) {
      char n[16];
      snprintf(n, sizeof n, "%d", count);
      put_field("ok");
      put_field(n);
    }
    for (char *name = names; name < names + len; name += strlen(name) + 1) {
      if (strncmp(name, XATTR_PREFIX, plen) != 0 || name[plen] == '\0') continue;
      ssize_t vlen = lgetxattr(path, name, value, sizeof value - 1);
      if (vlen < 0 || memchr(value, '\0', (size_t)vlen) != NULL) continue;
      value[vlen] = '\0';
      if (pass == 0) {
        count++;
      } else {
        put_field(name + plen);
        put_field(value);
      }
    }
  }
}

static void xattr_set(const char *path, int count, char **kv) {
  static char names[65536], full[512];
  ssize_t len = llistxattr(path, names, sizeof names);
  if (len < 0 && errno != ENOTSUP) return put_err(errno);
  for (char *name = names; len > 0 && name < names + len; name += strlen(name) + 1) {
    if (strncmp(name, XATTR_PREFIX, strlen(XATTR_PREFIX)) == 0 && lremovexattr(path, name) < 0) return put_err(errno);
  }
  for (int i = 0; i < count; i++) {
    if (snprintf(full, sizeof full, "%s%s", XATTR_PREFIX, kv[2 * i]) >= (int)sizeof full) return put_err(ENAMETOOLONG);
    if (lsetxattr(path, full, kv[2 * i + 1], strlen(kv[2 * i + 1]), 0) < 0) return put_err(errno);
  }
  put_field("ok");
  put_field("0");
}

/* Runs the request in fields[0..n) when it is complete; returns how many fields it used (0: wait for more). */
static int xattr_request(char **fields, int n) {
  if (n >= 2 && strcmp(fields[0], "g") == 0) {
    xattr_get(fields[1]);
    return 2;
  }
  if (n >= 3 && strcmp(fields[0], "s") == 0) {
    int count = atoi(fields[2]);
    if (count < 0 || 3 + 2 * count > MAX_FIELDS) {
      put_err(E2BIG);
      return n; /* unrecoverable framing: drop what we have */
    }
    if (n < 3 + 2 * count) return 0;
    xattr_set(fields[1], count, fields + 3);
    return 3 + 2 * count;
  }
  if (n >= 1 && strcmp(fields[0], "g") != 0 && strcmp(fields[0], "s") != 0) {
    put_err(EINVAL);
    return 1;
  }
  return 0;
}

static int xattr_loop(void) {
  static char buf[1 << 20];
  size_t used = 0;
  for (;;) {
    ssize_t n = read(0, buf + used, sizeof buf - used);
    if (n <= 0) return 0;
    used += (size_t)n;
    char *fields[MAX_FIELDS];
    int nf = 0;
    size_t start = 0, consumed = 0;
    for (size_t i = 0; i < used && nf < MAX_FIELDS; i++) {
      if (buf[i] != '\0') continue;
      fields[nf++] = buf + start;
      start = i + 1;
      int done = xattr_request(fields, nf);
      if (done > 0) {
        /* every request so far consumed exactly its own fields */
        nf = 0;
        consumed = start;
      }
    }
    fflush(stdout);
    memmove(buf, buf + consumed, used - consumed);
    used -= consumed;
    if (used == sizeof buf) used = 0; /* a request larger than the buffer: drop it */
  }
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "xattr") == 0) return xattr_loop();
  if (argc >= 2 && strcmp(argv[1], "exec") == 0) return exec_on_pty(argc, argv);
  if (argc == 2 && strcmp(argv[1], "watch") == 0) return watch_loop();
  if (argc == 4 && strcmp(argv[1], "resize") == 0) return set_size(MASTER_FD, argv[2], argv[3]) < 0 ? 1 : 0;
  fprintf(stderr, "usage: envd-helper exec ROWS COLS UID -- FILE ARG... | resize ROWS COLS | watch | xattr\n");
  return 2;
}
