/*
 * New-connection rate probe of the bench (bench/conn-rate.ts compiles it with `cc -O2 -pthread`
 * into the run's temp dir). Small on purpose, so that the kernel's cost per connection (TCP
 * handshake, conntrack, netfilter rules) is a large part of what is measured, which a Node
 * client would hide behind its own per-connection cost.
 *
 *   conn-loop serve IP PORT          accept and close at once, until killed
 *   conn-loop connect IP PORT MS N   N threads, each: connect, read until the server's FIN,
 *                                    close, again, for MS milliseconds; prints
 *                                    "connections errors seconds"
 *
 * A connection counts when the handshake completed and the server's FIN arrived; an attempt
 * that fails or takes longer than 1 s counts as an error. The client closes second (no
 * TIME_WAIT on its side), so its ports are not exhausted.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_in target;
static double deadline;
static atomic_long ok_count;
static atomic_long err_count;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse_addr(const char *ip, const char *port, struct sockaddr_in *out) {
  memset(out, 0, sizeof *out);
  out->sin_family = AF_INET;
  out->sin_port = htons((unsigned short)atoi(port));
  return inet_pton(AF_INET, ip, &out->sin_addr) == 1 ? 0 : -1;
}

static void *client(void *arg) {
  (void)arg;
  struct timeval tv = { .tv_sec = 1, .tv_usec = 0 };
  char buf[64];
  while (now_s() < deadline) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) { atomic_fetch_add(&err_count, 1); continue; }
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int good = connect(fd, (struct sockaddr *)&target, sizeof target) == 0;
    while (good) {
      ssize_t n = read(fd, buf, sizeof buf);
      if (n == 0) break;
      if (n < 0 && errno != EINTR) good = 0;
    }
    close(fd);
    atomic_fetch_add(good ? &ok_count : &err_count, 1);
  }
  return NULL;
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "serve") == 0) {
    struct sockaddr_in a;
    if (parse_addr(argv[2], argv[3], &a) != 0) { fprintf(stderr, "conn-loop: bad address %s\n", argv[2]); return 2; }
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, 4096) != 0) {
      fprintf(stderr, "conn-loop: cannot listen on %s:%s: %s\n", argv[2], argv[3], strerror(errno));
      return 1;
    }
    printf("listening\n");
    fflush(stdout);
    for (;;) {
      int c = accept(s, NULL, NULL);
      if (c >= 0) close(c);
    }
  }
  if (argc == 6 && strcmp(argv[1], "connect") == 0) {
    if (parse_addr(argv[2], argv[3], &target) != 0) { fprintf(stderr, "conn-loop: bad address %s\n", argv[2]); return 2; }
    long ms = atol(argv[4]);
    int n = atoi(argv[5]);
    if (ms <= 0 || ms > 600000 || n <= 0 || n > 64) { fprintf(stderr, "conn-loop: MS in 1..600000, N in 1..64\n"); return 2; }
    pthread_t threads[64];
    double start = now_s();
    deadline = start + (double)ms / 1000.0;
    for (int i = 0; i < n; i++) pthread_create(&threads[i], NULL, client, NULL);
    for (int i = 0; i < n; i++) pthread_join(threads[i], NULL);
    printf("%ld %ld %.3f\n", atomic_load(&ok_count), atomic_load(&err_count), now_s() - start);
    return 0;
  }
  fprintf(stderr, "usage: conn-loop serve IP PORT | conn-loop connect IP PORT MS THREADS\n");
  return 2;
}
