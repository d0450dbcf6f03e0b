/*
 * idmount SRC DST BASE COUNT
 *
 * Makes DST an idmapped bind mount of SRC in which ids 0..COUNT-1 of SRC appear as BASE..BASE+COUNT-1.
 * sandboxd uses it for the overlay lower layer: a template owned by root (0) on disk is seen as owned
 * by the sandbox's unprivileged id range, so container root (mapped to BASE) owns its own / without
 * copying or chown-ing the template. runc 1.1 cannot make idmapped mounts and util-linux 2.38
 * silently ignores X-mount.idmap, hence this helper.
 *
 * The kernel takes the mapping from a user namespace fd, so we create a throwaway userns with the
 * wanted mapping in a child process, use its /proc/PID/ns/user, and let the child exit; the mount
 * keeps its own reference to the namespace.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MOUNT_ATTR_IDMAP
#define MOUNT_ATTR_IDMAP 0x00100000
#endif
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif

static void die(const char *what) {
  fprintf(stderr, "idmount: %s: %s\n", what, strerror(errno));
  exit(1);
}

static void write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) die(path);
  if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) die(path);
  close(fd);
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: idmount SRC DST BASE COUNT\n");
    return 2;
  }
  const char *src = argv[1], *dst = argv[2];
  unsigned long base = strtoul(argv[3], NULL, 10), count = strtoul(argv[4], NULL, 10);
  if (count == 0) {
    fprintf(stderr, "idmount: COUNT must be > 0\n");
    return 2;
  }

  /* ready: child -> parent "userns exists"; done: parent closes it to let the child exit. */
  int ready[2], done[2];
  if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(done, O_CLOEXEC) < 0) die("pipe");
  pid_t child = fork();
  if (child < 0) die("fork");
  if (child == 0) {
    char c = 0;
    close(ready[0]);
    close(done[1]);
    if (unshare(CLONE_NEWUSER) < 0) _exit(1);
    if (write(ready[1], &c, 1) != 1) _exit(1);
    /* Blocks until the parent has the namespace fd and closes its end. */
    (void)!read(done[0], &c, 1);
    _exit(0);
  }
  close(ready[1]);
  close(done[0]);
  char c;
  if (read(ready[0], &c, 1) != 1) {
    errno = ECHILD;
    die("child could not create a user namespace");
  }

  char path[64], map[96];
  snprintf(map, sizeof map, "0 %lu %lu\n", base, count);
  snprintf(path, sizeof path, "/proc/%d/uid_map", child);
  write_file(path, map);
  snprintf(path, sizeof path, "/proc/%d/gid_map", child);
  write_file(path, map);
  snprintf(path, sizeof path, "/proc/%d/ns/user", child);
  int userns = open(path, O_RDONLY | O_CLOEXEC);
  if (userns < 0) die(path);
  close(done[1]);
  waitpid(child, NULL, 0);

  int tree = (int)syscall(SYS_open_tree, AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  if (tree < 0) die("open_tree");
  struct mount_attr attr;
  memset(&attr, 0, sizeof attr);
  /* Read-only too: the template is shared by every sandbox and must never be written through. */
  /* nosuid, nodev: a host user must not run the template's setuid binaries (or open its device
   * nodes) through this mount; the sandbox's overlay on top has its own flags. */
  attr.attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
  attr.userns_fd = (unsigned long long)userns;
  if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0) die("mount_setattr");
  if (syscall(SYS_move_mount, tree, "", AT_FDCWD, dst, MOVE_MOUNT_F_EMPTY_PATH) < 0) die("move_mount");
  return 0;
}
