/*
 * The floor: the system calls certswap's activate and install make, issued from C with nothing
 * else (no runtime, no thread pool, no parsing), timed per operation. `npm run bench` compares
 * the library against it; `strace -f -c` of both shows the calls match (docs/performance.md).
 *
 *   floor minimal  DIR N          symlink + rename + fsync(dir): the textbook atomic switch
 *   floor activate DIR N          what activate does: lock, read current/.history/.trial, read the
 *                                 target's three files, write .history durably (tmp, fsync,
 *                                 rename, fsync dir), then symlink + rename + fsync(dir)
 *   floor activate-for DIR MS     activate (as above) back and forth for MS milliseconds; prints
 *                                 {"mode":..., "count":n, "ms":elapsed} (the readers' swapper)
 *   floor install  DIR N CERT KEY CA META
 *                                 what install does: the above plus a staging directory with
 *                                 four files written and fsynced, the directory fsynced, renamed
 *                                 to generations/<n>, generations/ fsynced, the files read back
 *
 * DIR must contain generations/1 and generations/2 (each with cert.pem, key.pem, ca.pem) and a
 * `current` link. Prints one JSON line: {"mode":..., "ns":[...]}.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what, const char *path) {
  fprintf(stderr, "floor: %s %s: %s\n", what, path, strerror(errno));
  exit(1);
}

static long long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static char buf[1 << 20];

static size_t read_file(const char *path, int must) {
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    if (!must && errno == ENOENT) return 0;
    die("open", path);
  }
  struct stat st;
  if (fstat(fd, &st) < 0) die("fstat", path);
  size_t len = 0;
  ssize_t n;
  while ((n = read(fd, buf + len, sizeof buf - len)) > 0) len += (size_t)n;
  if (n < 0) die("read", path);
  close(fd);
  return len;
}

/* The library's lock: an OFD write lock on the whole file (src/io/lock.ts). */
static int ofd_lock(int fd, int cmd) {
  struct flock whole = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
  return fcntl(fd, cmd, &whole);
}

static void fsync_dir(const char *path) {
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) die("open", path);
  if (fsync(fd) < 0) die("fsync", path);
  close(fd);
}

static void write_durable(const char *path, const char *data, size_t len, mode_t mode) {
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) die("open", path);
  if (fchmod(fd, mode) < 0) die("fchmod", path);
  if (write(fd, data, len) != (ssize_t)len) die("write", path);
  if (fsync(fd) < 0) die("fsync", path);
  close(fd);
}

static void swap_link(const char *dir, const char *target) {
  char tmp[4096], cur[4096];
  snprintf(tmp, sizeof tmp, "%s/.current.tmp-floor", dir);
  snprintf(cur, sizeof cur, "%s/current", dir);
  if (symlink(target, tmp) < 0) die("symlink", tmp);
  if (rename(tmp, cur) < 0) die("rename", cur);
  fsync_dir(dir);
}

/* The reads and the durable rollback record that precede every switch. */
static void activate_prefix(const char *dir, int target, int outgoing) {
  char p[4096], tmp[4096], rec[64];
  char link[256];
  snprintf(p, sizeof p, "%s/current", dir);
  if (readlink(p, link, sizeof link) < 0) die("readlink", p);
  snprintf(p, sizeof p, "%s/.history", dir);
  read_file(p, 0);
  snprintf(p, sizeof p, "%s/.trial", dir);
  read_file(p, 0);
  struct stat st;
  snprintf(p, sizeof p, "%s/generations/%d", dir, target);
  if (lstat(p, &st) < 0) die("lstat", p);
  const char *files[] = {"cert.pem", "key.pem", "ca.pem"};
  for (int i = 0; i < 3; i++) {
    snprintf(p, sizeof p, "%s/generations/%d/%s", dir, target, files[i]);
    read_file(p, 1);
  }
  int len = snprintf(rec, sizeof rec, "%d %d\n%d -\n", target, outgoing, outgoing);
  snprintf(tmp, sizeof tmp, "%s/.history.tmp-floor", dir);
  snprintf(p, sizeof p, "%s/.history", dir);
  write_durable(tmp, rec, (size_t)len, 0600);
  if (rename(tmp, p) < 0) die("rename", p);
  fsync_dir(dir);
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: floor minimal|activate|install DIR N [CERT KEY CA META]\n");
    return 2;
  }
  const char *mode = argv[1], *dir = argv[2];
  if (strlen(dir) > 1024) die("too long", dir);
  int n = atoi(argv[3]);
  if (strcmp(mode, "activate-for") == 0) {
    char lockpath0[4096];
    snprintf(lockpath0, sizeof lockpath0, "%s/.lock", dir);
    long long start = now_ns(), end = start + (long long)n * 1000000LL;
    long count = 0;
    while (now_ns() < end) {
      int lock = open(lockpath0, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (lock < 0 || ofd_lock(lock, F_OFD_SETLKW) < 0) die("lock", lockpath0);
      int target = count % 2 ? 2 : 1;
      activate_prefix(dir, target, 3 - target);
      swap_link(dir, target == 1 ? "generations/1" : "generations/2");
      close(lock);
      count++;
    }
    printf("{\"mode\":\"activate-for\",\"count\":%ld,\"ms\":%.1f}\n", count, (now_ns() - start) / 1e6);
    return 0;
  }
  long long *ns = calloc((size_t)n, sizeof *ns);
  char lockpath[4096], gens[4096];
  snprintf(lockpath, sizeof lockpath, "%s/.lock", dir);
  snprintf(gens, sizeof gens, "%s/generations", dir);

  /* install: the four inputs, read once up front (the library gets them in memory too). */
  char *in[4] = {0};
  size_t inlen[4] = {0};
  if (strcmp(mode, "install") == 0) {
    if (argc < 8) die("usage", "install needs CERT KEY CA META");
    for (int i = 0; i < 4; i++) {
      inlen[i] = read_file(argv[4 + i], 1);
      in[i] = malloc(inlen[i]);
      memcpy(in[i], buf, inlen[i]);
    }
  }
  int next = 3;
  for (int i = 0; i < n; i++) {
    long long t0 = now_ns();
    if (strcmp(mode, "minimal") == 0) {
      swap_link(dir, i % 2 ? "generations/2" : "generations/1");
    } else {
      int lock = open(lockpath, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (lock < 0 || ofd_lock(lock, F_OFD_SETLK) < 0) die("lock", lockpath);
      if (strcmp(mode, "activate") == 0) {
        int target = i % 2 ? 2 : 1;
        activate_prefix(dir, target, 3 - target);
        swap_link(dir, target == 1 ? "generations/1" : "generations/2");
      } else if (strcmp(mode, "install") == 0) {
        char staging[4096], p[4096], final[4096], target[64];
        const char *names[] = {"cert.pem", "key.pem", "ca.pem", ".meta.json"};
        const mode_t modes[] = {0644, 0600, 0644, 0644};
        snprintf(staging, sizeof staging, "%s/.staging-floor", gens);
        if (mkdir(staging, 0700) < 0) die("mkdir", staging);
        for (int f = 0; f < 4; f++) {
          snprintf(p, sizeof p, "%s/%s", staging, names[f]);
          write_durable(p, in[f], inlen[f], modes[f]);
        }
        fsync_dir(staging);
        for (int f = 0; f < 3; f++) {
          snprintf(p, sizeof p, "%s/%s", staging, names[f]);
          read_file(p, 1);
        }
        /* The library lists generations/ to choose the next number. */
        DIR *d = opendir(gens);
        if (!d) die("opendir", gens);
        while (readdir(d)) {
        }
        closedir(d);
        snprintf(final, sizeof final, "%s/%d", gens, next);
        if (rename(staging, final) < 0) die("rename", final);
        fsync_dir(gens);
        /* activate's part, switching to the new generation; the record names it. */
        char q[4096], link[256], rec[64], tmp[4096];
        snprintf(q, sizeof q, "%s/current", dir);
        if (readlink(q, link, sizeof link) < 0) die("readlink", q);
        snprintf(q, sizeof q, "%s/.trial", dir);
        read_file(q, 0);
        for (int f = 0; f < 3; f++) {
          snprintf(p, sizeof p, "%s/%s", final, names[f]);
          read_file(p, 1);
        }
        snprintf(q, sizeof q, "%s/.history", dir);
        read_file(q, 0);
        int len = snprintf(rec, sizeof rec, "%d %d\n", next, next - 1);
        snprintf(tmp, sizeof tmp, "%s/.history.tmp-floor", dir);
        write_durable(tmp, rec, (size_t)len, 0600);
        if (rename(tmp, q) < 0) die("rename", q);
        fsync_dir(dir);
        snprintf(target, sizeof target, "generations/%d", next);
        swap_link(dir, target);
        next++;
      } else {
        die("unknown mode", mode);
      }
      close(lock);
    }
    ns[i] = now_ns() - t0;
  }
  printf("{\"mode\":\"%s\",\"ns\":[", mode);
  for (int i = 0; i < n; i++) printf("%s%lld", i ? "," : "", ns[i]);
  printf("]}\n");
  return 0;
}
