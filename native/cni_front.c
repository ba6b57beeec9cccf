/*
 * weft-net, compiled front end: the CNI plugin a runtime executes. It forwards the CNI_*
 * variables and stdin to the weft daemon as one `POST /cni` (HTTP/1.1 over the daemon's unix
 * socket, the same request the Node plugin dist/cmd/weft-net.js sends), prints the daemon's
 * answer and exits with its code. Node's start-up (~40 ms) is what it saves; all protocol
 * logic (validation, result shapes, error codes) stays in the daemon.
 *
 * VERSION is answered here exactly as the Node plugin answers it. Whenever this program could
 * not tell what the Node plugin would print — stdin it cannot read as JSON with plain strings,
 * no daemon listening on the socket, a reply other than 200 (the daemon did not run the verb)
 * — it executes the Node plugin instead with the same environment and stdin, so both always
 * print the same thing: `$WEFT_CNI_NODE_PLUGIN`, else `weft-net-node` next to this executable
 * (where `weft setup-cni` installs it). Only a daemon that accepted the request and then
 * timed out or dropped the connection is reported from here (code 11, as Node reports it).
 *
 * Built by `npm ci` (binding.gyp target "weft-net"); needs only libc.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "cni_json.h"

/* Keep in step with src/common/constants.ts and src/cni/versions.ts. */
#define MAX_STDIN (1024 * 1024)          /* CNI_MAX_STDIN_BYTES */
#define MAX_REPLY (16 * 1024 * 1024)     /* API_MAX_RESPONSE_BYTES */
#define TIMEOUT_MS 35000                 /* CNI_ALLOCATE_TIMEOUT_MS */
#define DEFAULT_SOCKET "/run/weft/weft.sock"
#define LATEST_VERSION "1.1.0"
#define SUPPORTED "[\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]"

static const char *const SUPPORTED_LIST[] = { "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0" };
static const char *const FORWARDED[] = { "CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_ARGS", "CNI_PATH" };

/* ───────────────────────── process edges ───────────────────────── */

static buf_t in;

static void write_all(int fd, const char *s, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, s, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    s += w;
    n -= (size_t)w;
  }
}

/* Run the Node plugin with our environment and the stdin we already read; returns only if it cannot be run. */
static void run_node_plugin(void) {
  char path[PATH_MAX];
  const char *p = getenv("WEFT_CNI_NODE_PLUGIN");
  if (!p || !*p) {
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 20);
    if (n <= 0) return;
    path[n] = 0;
    char *slash = strrchr(path, '/');
    if (!slash) return;
    strcpy(slash + 1, "weft-net-node");
    p = path;
  }
  int fd = memfd_create("weft-net-stdin", 0);
  if (fd < 0) return;
  write_all(fd, in.p ? in.p : "", in.n);
  if (lseek(fd, 0, SEEK_SET) != 0 || dup2(fd, 0) < 0) return;
  close(fd);
  char *argv[] = { (char *)p, NULL };
  execv(p, argv);
}

/* The error result Node prints for a transport failure after the daemon took the request. */
static int fail(const char *version, const char *command, int status_verb, const char *msg, const char *code) {
  buf_t m = { 0 }, o = { 0 };
  if (status_verb) puts_(&m, "weft daemon not available: ");
  puts_(&m, "forwarding CNI ");
  puts_(&m, command);
  puts_(&m, " to the weft daemon: ");
  puts_(&m, msg);
  puts_(&o, "{\"cniVersion\":");
  put_json_string(&o, version, strlen(version));
  puts_(&o, status_verb ? ",\"code\":50,\"msg\":" : ",\"code\":11,\"msg\":");
  put_json_string(&o, m.p, m.n);
  puts_(&o, ",\"details\":");
  put_json_string(&o, code, strlen(code));
  puts_(&o, "}\n");
  write_all(1, o.p, o.n);
  return 1;
}

/* What Node prints when nothing listens on the socket (used only when the Node plugin cannot be run). */
static int not_running(const char *version, const char *sock, int status_verb) {
  buf_t m = { 0 }, o = { 0 };
  if (status_verb) puts_(&m, "weft daemon not available: ");
  puts_(&m, "weft daemon is not running (no API socket at ");
  puts_(&m, sock);
  puts_(&m, "); start it with \"weft launch\" or fix \"socket\" in the network configuration");
  puts_(&o, "{\"cniVersion\":");
  put_json_string(&o, version, strlen(version));
  puts_(&o, status_verb ? ",\"code\":50,\"msg\":" : ",\"code\":11,\"msg\":");
  put_json_string(&o, m.p, m.n);
  puts_(&o, ",\"details\":\"WEFT_ERR_NOT_RUNNING\"}\n");
  write_all(1, o.p, o.n);
  return 1;
}

static int read_stdin(void) {
  if (isatty(0)) return 1;
  char chunk[65536];
  for (;;) {
    ssize_t r = read(0, chunk, sizeof chunk);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return 0;
    if (r == 0) return 1;
    put(&in, chunk, (size_t)r);
    if (in.n > MAX_STDIN) return 0;
  }
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  /* Anything unreadable or oversized: Node prints the error. */
  if (!read_stdin()) { run_node_plugin(); return fail(LATEST_VERSION, "?", 0, "cannot run the Node plugin", "WEFT_ERR_INTERNAL"); }
  const char *command = getenv("CNI_COMMAND");
  static const char *const KEYS[] = { "cniVersion", "socket" };
  tok_t v[2];
  int doc = scan_doc(in.p ? in.p : "", in.n, KEYS, v, 2);
  int plain_version = doc == DOC_OK && v[0].is_string && !v[0].esc;
  if (plain_version) for (size_t i = 0; i < v[0].n; i++) if ((unsigned char)v[0].s[i] >= 0x80) plain_version = 0;

  if (command && strcmp(command, "VERSION") == 0) {
    if (doc == DOC_UNSURE || (doc == DOC_OK && v[0].is_string && !plain_version)) {
      run_node_plugin();
      return fail(LATEST_VERSION, command, 0, "the Node plugin (weft-net-node) could not be run", "WEFT_ERR_INTERNAL");
    } else {
      buf_t o = { 0 };
      puts_(&o, "{\"cniVersion\":");
      if (plain_version) { put(&o, "\"", 1); put(&o, v[0].s, v[0].n); put(&o, "\"", 1); }
      else puts_(&o, "\"" LATEST_VERSION "\"");
      puts_(&o, ",\"supportedVersions\":" SUPPORTED "}\n");
      write_all(1, o.p, o.n);
      return 0;
    }
  }
  /* What the Node plugin would stamp on a transport error: the declared version if supported. */
  char version[16] = LATEST_VERSION;
  if (plain_version) {
    for (size_t i = 0; i < sizeof SUPPORTED_LIST / sizeof *SUPPORTED_LIST; i++) {
      if (strlen(SUPPORTED_LIST[i]) == v[0].n && memcmp(SUPPORTED_LIST[i], v[0].s, v[0].n) == 0) memcpy(version, SUPPORTED_LIST[i], v[0].n + 1);
    }
  }
  char sock[sizeof(((struct sockaddr_un *)0)->sun_path)];
  int usable = command && strcmp(command, "VERSION") != 0 && doc == DOC_OK;
  if (usable && v[1].present && !v[1].is_null) {
    usable = v[1].is_string && !v[1].esc && v[1].n > 0 && v[1].n < sizeof sock && v[1].s[0] == '/' && !memchr(v[1].s, 0, v[1].n);
    if (usable) { memcpy(sock, v[1].s, v[1].n); sock[v[1].n] = 0; }
  } else {
    strcpy(sock, DEFAULT_SOCKET);
  }
  int fd = -1, down = 0;
  if (usable) {
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    strcpy(sa.sun_path, sock);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
      down = errno == ENOENT || errno == ECONNREFUSED;
      close(fd);
      fd = -1;
    }
  }
  /* Bad input (Node names it), no daemon (Node says so): the Node plugin answers. */
  if (fd < 0) {
    run_node_plugin();
    if (down) return not_running(version, sock, strcmp(command, "STATUS") == 0);
    return fail(version, command ? command : "", 0, "the Node plugin (weft-net-node) could not be run", "WEFT_ERR_INTERNAL");
  }
  int status_verb = strcmp(command, "STATUS") == 0;
  struct timeval tv = { TIMEOUT_MS / 1000, (TIMEOUT_MS % 1000) * 1000 };
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);

  buf_t body = { 0 }, req = { 0 };
  puts_(&body, "{\"env\":{");
  int first = 1;
  for (size_t i = 0; i < sizeof FORWARDED / sizeof *FORWARDED; i++) {
    const char *val = getenv(FORWARDED[i]);
    if (!val) continue;
    if (!first) put(&body, ",", 1);
    first = 0;
    put_json_string(&body, FORWARDED[i], strlen(FORWARDED[i]));
    put(&body, ":", 1);
    put_json_string(&body, val, strlen(val));
  }
  puts_(&body, "},\"stdin\":");
  put_json_string(&body, in.p ? in.p : "", in.n);
  puts_(&body, "}");
  char head[256];
  snprintf(head, sizeof head, "POST /cni HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n"
           "Content-Type: application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", body.n);
  puts_(&req, head);
  put(&req, body.p, body.n);

  char tmsg[160];
  snprintf(tmsg, sizeof tmsg, "weft API at %s did not answer POST /cni within %d ms", sock, TIMEOUT_MS);
  char cmsg[160];
  snprintf(cmsg, sizeof cmsg, "weft API at %s closed the connection before replying", sock);
  for (size_t off = 0; off < req.n;) {
    ssize_t w = send(fd, req.p + off, req.n - off, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return fail(version, command, status_verb, tmsg, "WEFT_ERR_TIMEOUT");
    if (w <= 0) return fail(version, command, status_verb, cmsg, "WEFT_ERR_CLOSED");
    off += (size_t)w;
  }
  buf_t rep = { 0 };
  char chunk[65536];
  for (;;) {
    ssize_t r = recv(fd, chunk, sizeof chunk, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return fail(version, command, status_verb, tmsg, "WEFT_ERR_TIMEOUT");
    if (r < 0) return fail(version, command, status_verb, cmsg, "WEFT_ERR_CLOSED");
    if (r == 0) break;
    put(&rep, chunk, (size_t)r);
    if (rep.n > MAX_REPLY) return fail(version, command, status_verb, "weft API reply too big", "WEFT_ERR_TOO_BIG");
  }
  close(fd);
  char *sep = rep.p ? strstr(rep.p, "\r\n\r\n") : NULL;
  if (!sep) return fail(version, command, status_verb, cmsg, "WEFT_ERR_CLOSED");
  int status = 0;
  if (sscanf(rep.p, "HTTP/1.%*d %d", &status) != 1 || status != 200) {
    /* The daemon refused the request before running the verb: the Node plugin reports why. */
    run_node_plugin();
    return fail(version, command, status_verb, "the weft daemon refused the request", "WEFT_ERR_INTERNAL");
  }
  const char *json = sep + 4;
  static const char *const RKEYS[] = { "exitCode", "output" };
  tok_t r[2];
  if (scan_doc(json, rep.n - (size_t)(json - rep.p), RKEYS, r, 2) != DOC_OK || !r[0].is_int || (r[0].num != 0 && r[0].num != 1) || !r[1].is_string) {
    return fail(version, command, status_verb, "weft API sent an unexpected /cni reply", "WEFT_ERR_DECODE");
  }
  buf_t out = { 0 };
  decode_string(&out, r[1].s, r[1].n);
  write_all(1, out.p ? out.p : "", out.n);
  return (int)r[0].num;
}
