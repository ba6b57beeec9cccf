/*
 * weft addon: the kernel edge's sockets. Netlink sockets (rtnetlink, generic netlink) and plain
 * datagram sockets (for ethtool ioctls) created inside any network namespace, without
 * nsenter helper processes and without ever moving the JS thread: a short-lived pthread
 * enters the namespace (setns), creates the socket and exits. A socket stays bound to the
 * namespace it was created in, so every later call on the fd acts there.
 *
 * Message building and parsing is done in TypeScript (src/host/netlink-codec.ts); C only
 * moves bytes: send one buffer to the kernel, receive one datagram (EAGAIN is -1, a
 * truncated datagram is EMSGSIZE, a receive-queue overflow is ENOBUFS). Plus the two ioctls
 * the edge needs: ETHTOOL_STXCSUM and TUNSETPERSIST.
 */
#include "weft_dp.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/sockios.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif

/* Longest namespace path accepted (bytes, with the NUL). */
#define WEFT_NS_PATH_MAX 4096
/* Largest receive buffer asked for (SO_RCVBUFFORCE, falls back to SO_RCVBUF). bytes */
#define WEFT_NL_RCVBUF_MAX (64u * 1024u * 1024u)
/* Highest netlink multicast group number accepted. */
#define WEFT_NL_GROUP_MAX 1024u

typedef struct {
  const char *ns_path; /* NULL: the calling thread's namespace */
  int family, type, protocol;
  int fd;              /* result */
  int err;             /* errno of the failing step, 0 on success */
  const char *step;    /* name of the failing syscall */
} socket_job;

static void socket_job_run(socket_job *j) {
  if (j->ns_path != NULL) {
    int nsfd = open(j->ns_path, O_RDONLY | O_CLOEXEC);
    if (nsfd < 0) {
      j->err = errno;
      j->step = "open";
      return;
    }
    if (setns(nsfd, CLONE_NEWNET) != 0) {
      j->err = errno;
      j->step = "setns";
      close(nsfd);
      return;
    }
    close(nsfd);
  }
  j->fd = socket(j->family, j->type | SOCK_NONBLOCK | SOCK_CLOEXEC, j->protocol);
  if (j->fd < 0) {
    j->err = errno;
    j->step = "socket";
  }
}

static void *socket_job_thread(void *arg) {
  socket_job_run((socket_job *)arg);
  return NULL;
}

/* netnsSocket(family, type, protocol, nsPath?) -> fd (non-blocking, close-on-exec). */
napi_value weft_netns_socket(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  uint32_t family, type, protocol;
  char path[WEFT_NS_PATH_MAX];
  napi_valuetype t;
  socket_job j = {0};
  if (weft_args(env, info, 3, 4, argv) != 0) return NULL;
  if (weft_arg_u32(env, argv[0], "family", 1, 64, &family) != 0) return NULL;
  if (weft_arg_u32(env, argv[1], "type", 1, 16, &type) != 0) return NULL;
  if (weft_arg_u32(env, argv[2], "protocol", 0, 255, &protocol) != 0) return NULL;
  if (napi_typeof(env, argv[3], &t) != napi_ok) return weft_throw_state(env, "cannot read nsPath");
  j.family = (int)family;
  j.type = (int)type;
  j.protocol = (int)protocol;
  j.fd = -1;
  if (t == napi_undefined || t == napi_null) {
    socket_job_run(&j);
  } else {
    pthread_t th;
    int rc;
    if (weft_arg_str(env, argv[3], "nsPath", path, sizeof path) != 0) return NULL;
    if (path[0] != '/') return weft_throw_range(env, "nsPath must be an absolute path");
    j.ns_path = path;
    rc = pthread_create(&th, NULL, socket_job_thread, &j);
    if (rc != 0) return weft_throw_errno(env, "pthread_create", rc, NULL);
    rc = pthread_join(th, NULL);
    if (rc != 0) return weft_throw_errno(env, "pthread_join", rc, NULL);
  }
  if (j.err != 0) return weft_throw_errno(env, j.step, j.err, j.ns_path);
  return weft_i32(env, j.fd);
}

/* nlSetup(fd, groups: Uint32Array, rcvbufBytes): bind (kernel-assigned port id), join the
 * multicast groups, ask for extended acks, size the receive buffer. */
napi_value weft_nl_setup(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int fd, one = 1;
  uint32_t *groups, rcvbuf;
  size_t ngroups;
  struct sockaddr_nl sa;
  if (weft_args(env, info, 3, 3, argv) != 0) return NULL;
  if (weft_arg_fd(env, argv[0], "fd", &fd) != 0) return NULL;
  if (weft_arg_u32s(env, argv[1], "groups", &groups, &ngroups) != 0) return NULL;
  if (weft_arg_u32(env, argv[2], "rcvbufBytes", 4096, WEFT_NL_RCVBUF_MAX, &rcvbuf) != 0) return NULL;
  for (size_t i = 0; i < ngroups; i++) {
    if (groups[i] == 0 || groups[i] > WEFT_NL_GROUP_MAX)
      return weft_throw_range(env, "groups[%zu] must be in [1, %u]", i, WEFT_NL_GROUP_MAX);
  }
  memset(&sa, 0, sizeof sa);
  sa.nl_family = AF_NETLINK;
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) return weft_throw_errno(env, "bind", errno, NULL);
  for (size_t i = 0; i < ngroups; i++) {
    int g = (int)groups[i];
    if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &g, sizeof g) != 0)
      return weft_throw_errno(env, "setsockopt", errno, "NETLINK_ADD_MEMBERSHIP");
  }
  /* Best effort: older kernels lack extended acks; the codec handles both forms. */
  (void)setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  {
    int sz = (int)rcvbuf;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) != 0 &&
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz) != 0)
      return weft_throw_errno(env, "setsockopt", errno, "SO_RCVBUF");
  }
  return weft_undefined(env);
}

/* nlSend(fd, buf, len) -> bytes sent (to the kernel, port id 0). */
napi_value weft_nl_send(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int fd;
  uint8_t *buf;
  size_t cap;
  uint32_t len;
  struct sockaddr_nl sa;
  ssize_t n;
  if (weft_args(env, info, 3, 3, argv) != 0) return NULL;
  if (weft_arg_fd(env, argv[0], "fd", &fd) != 0) return NULL;
  if (weft_arg_bytes(env, argv[1], "buf", &buf, &cap) != 0) return NULL;
  if (weft_arg_u32(env, argv[2], "len", 16, UINT32_MAX, &len) != 0) return NULL;
  if (len > cap) return weft_throw_range(env, "len %u exceeds the buffer (%zu bytes)", len, cap);
  memset(&sa, 0, sizeof sa);
  sa.nl_family = AF_NETLINK;
  do {
    n = sendto(fd, buf, len, 0, (struct sockaddr *)&sa, sizeof sa);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return weft_throw_errno(env, "sendto", errno, NULL);
  return weft_u32(env, (uint32_t)n);
}

/* nlRecv(fd, buf) -> datagram length, or -1 when nothing is queued (EAGAIN). A datagram
 * larger than buf throws EMSGSIZE (it is consumed: the caller resyncs); an overflowed
 * receive queue throws ENOBUFS. */
napi_value weft_nl_recv(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int fd;
  uint8_t *buf;
  size_t cap;
  ssize_t n;
  struct sockaddr_nl sa;
  struct iovec iov;
  struct msghdr mh;
  if (weft_args(env, info, 2, 2, argv) != 0) return NULL;
  if (weft_arg_fd(env, argv[0], "fd", &fd) != 0) return NULL;
  if (weft_arg_bytes(env, argv[1], "buf", &buf, &cap) != 0) return NULL;
  if (cap < 16 || cap > INT32_MAX) return weft_throw_range(env, "buf must hold 16 bytes to 2 GiB");
  iov.iov_base = buf;
  iov.iov_len = cap;
  memset(&mh, 0, sizeof mh);
  mh.msg_name = &sa;
  mh.msg_namelen = sizeof sa;
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  do {
    n = recvmsg(fd, &mh, MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return weft_i32(env, -1);
    return weft_throw_errno(env, "recvmsg", errno, NULL);
  }
  if (mh.msg_flags & MSG_TRUNC) return weft_throw_errno(env, "recvmsg", EMSGSIZE, "datagram truncated");
  return weft_i32(env, (int32_t)n);
}

/* ethtoolSetTxCsum(fd, ifname, on): TX checksum offload (and with it TSO, which depends on
 * it) on or off, like `ethtool -K IF tx on|off`. fd: a datagram socket in the link's netns. */
napi_value weft_ethtool_set_tx_csum(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int fd, on;
  char name[IFNAMSIZ];
  struct ethtool_value ev;
  struct ifreq ifr;
  if (weft_args(env, info, 3, 3, argv) != 0) return NULL;
  if (weft_arg_fd(env, argv[0], "fd", &fd) != 0) return NULL;
  if (weft_arg_str(env, argv[1], "ifname", name, sizeof name) != 0) return NULL;
  if (weft_arg_bool(env, argv[2], "on", 0, &on) != 0) return NULL;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, name, strlen(name));
  ev.cmd = ETHTOOL_STXCSUM;
  ev.data = on ? 1 : 0;
  ifr.ifr_data = (void *)&ev;
  if (ioctl(fd, SIOCETHTOOL, &ifr) != 0) return weft_throw_errno(env, "ioctl", errno, "ETHTOOL_STXCSUM");
  return weft_undefined(env);
}

/* tunSetPersist(name, persist): create (persist=true) or release (false) a persistent TAP
 * device without packet information, in the calling thread's namespace. */
napi_value weft_tun_set_persist(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int persist, fd;
  char name[IFNAMSIZ];
  struct ifreq ifr;
  if (weft_args(env, info, 2, 2, argv) != 0) return NULL;
  if (weft_arg_str(env, argv[0], "name", name, sizeof name) != 0) return NULL;
  if (weft_arg_bool(env, argv[1], "persist", 0, &persist) != 0) return NULL;
  fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0) return weft_throw_errno(env, "open", errno, "/dev/net/tun");
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, name, strlen(name));
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
    int e = errno;
    close(fd);
    return weft_throw_errno(env, "ioctl", e, "TUNSETIFF");
  }
  if (ioctl(fd, TUNSETPERSIST, persist ? 1 : 0) != 0) {
    int e = errno;
    close(fd);
    return weft_throw_errno(env, "ioctl", e, "TUNSETPERSIST");
  }
  close(fd);
  return weft_undefined(env);
}
