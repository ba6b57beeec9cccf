/*
 * weft data-plane addon: UDP sockets with batched recvmmsg/sendmmsg.
 *
 * Addresses cross the JS boundary as pairs of uint32 in an `addrs` Uint32Array:
 * addrs[2i] = IPv4 address in host byte order, addrs[2i+1] = port. An IPv6 ("::") socket is
 * dual-stack; its IPv4 peers appear as v4-mapped addresses and are converted both ways, and
 * datagrams from genuine IPv6 sources are reported with lens[i] = WEFT_LEN_NOT_IPV4.
 *
 * UDP GSO/GRO hook (not enabled): sendmmsg with a UDP_SEGMENT cmsg per message would let one
 * message carry many equal-sized datagrams; UDP_GRO on receive would coalesce them again.
 * The arena layout (one slot per message) already allows that: a slot would simply hold a
 * train of segments and lens[i] its total size plus a per-message segment size.
 */
#include "weft_dp.h"
#include "udp_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Socket buffer size bounds for udpOpen. bytes */
#define UDP_BUF_MIN 4096u
#define UDP_BUF_MAX (1u << 30)
/* Destination port of the pathMtu probe socket; nothing is ever sent. */
#define PATH_MTU_PROBE_PORT 9


/* Parse "a.b.c.d" or an IPv6 literal into sa (port in host order). 0 ok, -1 not an IP. */
static int parse_ip(const char *s, uint16_t port, weft_sockaddr *sa, socklen_t *len) {
  memset(sa, 0, sizeof *sa);
  if (inet_pton(AF_INET, s, &sa->v4.sin_addr) == 1) {
    sa->v4.sin_family = AF_INET;
    sa->v4.sin_port = htons(port);
    *len = sizeof sa->v4;
    return 0;
  }
  if (inet_pton(AF_INET6, s, &sa->v6.sin6_addr) == 1) {
    sa->v6.sin6_family = AF_INET6;
    sa->v6.sin6_port = htons(port);
    *len = sizeof sa->v6;
    return 0;
  }
  return -1;
}

/* Fill sa with IPv4 ip:port, v4-mapped when the socket is IPv6. Returns the address size. */
static socklen_t make_dest(int family, uint32_t ip, uint32_t port, weft_sockaddr *sa) {
  memset(sa, 0, sizeof *sa);
  if (family == AF_INET6) {
    sa->v6.sin6_family = AF_INET6;
    sa->v6.sin6_port = htons((uint16_t)port);
    sa->v6.sin6_addr.s6_addr[10] = 0xff;
    sa->v6.sin6_addr.s6_addr[11] = 0xff;
    uint32_t be = htonl(ip);
    memcpy(&sa->v6.sin6_addr.s6_addr[12], &be, 4);
    return sizeof sa->v6;
  }
  sa->v4.sin_family = AF_INET;
  sa->v4.sin_port = htons((uint16_t)port);
  sa->v4.sin_addr.s_addr = htonl(ip);
  return sizeof sa->v4;
}

/* Set a socket buffer size, forced past net.core.*mem_max when we have CAP_NET_ADMIN. */
static int set_buf(int fd, int force_opt, int opt, int bytes) {
  if (setsockopt(fd, SOL_SOCKET, force_opt, &bytes, sizeof bytes) == 0) return 0;
  return setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof bytes);
}

/* udpOpen(addr, port, bufBytes, reusePort): fd */
napi_value weft_udp_open(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  char addr[INET6_ADDRSTRLEN];
  uint32_t port, buf;
  int reuse, fd, one = 1, zero = 0, df;
  weft_sockaddr sa;
  socklen_t salen;
  if (weft_args(env, info, 4, 4, argv) != 0) return NULL;
  if (weft_arg_str(env, argv[0], "addr", addr, sizeof addr) != 0 ||
      weft_arg_u32(env, argv[1], "port", 0, 65535, &port) != 0 ||
      weft_arg_u32(env, argv[2], "bufBytes", UDP_BUF_MIN, UDP_BUF_MAX, &buf) != 0 ||
      weft_arg_bool(env, argv[3], "reusePort", 0, &reuse) != 0)
    return NULL;
  if (parse_ip(addr, (uint16_t)port, &sa, &salen) != 0)
    return weft_throw_range(env, "addr must be an IPv4 or IPv6 address literal");

  fd = socket(sa.sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return weft_throw_errno(env, "socket", errno, NULL);
  if (set_buf(fd, SO_RCVBUFFORCE, SO_RCVBUF, (int)buf) != 0 ||
      set_buf(fd, SO_SNDBUFFORCE, SO_SNDBUF, (int)buf) != 0)
    goto fail_errno_sockopt;
  /* DF on every datagram: an oversize send fails with EMSGSIZE instead of fragmenting. */
  df = IP_PMTUDISC_DO;
  if (sa.sa.sa_family == AF_INET6) {
    int df6 = IPV6_PMTUDISC_DO;
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero) != 0 ||
        setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &df6, sizeof df6) != 0)
      goto fail_errno_sockopt;
  }
  /* Also applies to IPv4 (incl. v4-mapped) traffic of a dual-stack socket. */
  if (setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &df, sizeof df) != 0)
    goto fail_errno_sockopt;
  if (reuse && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
    goto fail_errno_sockopt;
  if (bind(fd, &sa.sa, salen) != 0) {
    int err = errno;
    close(fd);
    return weft_throw_errno(env, "bind", err, addr);
  }
  return weft_i32(env, fd);

fail_errno_sockopt : {
  int err = errno;
  close(fd);
  return weft_throw_errno(env, "setsockopt", err, NULL);
}
}

/* udpLocalPort(fd): the bound port (useful after binding port 0). */
napi_value weft_udp_local_port(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int fd;
  weft_sockaddr sa;
  socklen_t len = sizeof sa;
  if (weft_args(env, info, 1, 1, argv) != 0) return NULL;
  if (weft_arg_fd(env, argv[0], "fd", &fd) != 0) return NULL;
  if (getsockname(fd, &sa.sa, &len) != 0) return weft_throw_errno(env, "getsockname", errno, NULL);
  if (sa.sa.sa_family == AF_INET) return weft_u32(env, ntohs(sa.v4.sin_port));
  if (sa.sa.sa_family == AF_INET6) return weft_u32(env, ntohs(sa.v6.sin6_port));
  return weft_throw_range(env, "fd is not an IP socket");
}

int weft_sock_is_dead(int err) {
  return err == EBADF || err == ENOTSOCK || err == EFAULT || err == EINVAL ||
         err == EOPNOTSUPP || err == EAFNOSUPPORT;
}

int weft_store_source(const weft_sockaddr *sa, uint32_t *addrs) {
  if (sa->sa.sa_family == AF_INET) {
    addrs[0] = ntohl(sa->v4.sin_addr.s_addr);
    addrs[1] = ntohs(sa->v4.sin_port);
    return 1;
  }
  addrs[0] = 0;
  addrs[1] = 0;
  if (sa->sa.sa_family == AF_INET6) {
    addrs[1] = ntohs(sa->v6.sin6_port);
    if (IN6_IS_ADDR_V4MAPPED(&sa->v6.sin6_addr)) {
      uint32_t be;
      memcpy(&be, &sa->v6.sin6_addr.s6_addr[12], 4);
      addrs[0] = ntohl(be);
      return 1;
    }
  }
  return 0;
}

/* udpRecvBatch(fd, arena, stride, lens, addrs, max): count (0 when nothing is queued). */
napi_value weft_udp_recv_batch(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  int fd;
  uint8_t *arena;
  size_t arena_len, lens_len, addrs_len;
  uint32_t stride, max, *lens, *addrs, got = 0;
  struct mmsghdr msgs[WEFT_MMSG_CHUNK];
  struct iovec iov[WEFT_MMSG_CHUNK];
  weft_sockaddr names[WEFT_MMSG_CHUNK];
  if (weft_args(env, info, 6, 6, argv) != 0) return NULL;
  if (weft_arg_fd(env, argv[0], "fd", &fd) != 0 ||
      weft_arg_bytes(env, argv[1], "arena", &arena, &arena_len) != 0 ||
      weft_arg_u32(env, argv[2], "stride", 1, UINT32_MAX, &stride) != 0 ||
      weft_arg_u32s(env, argv[3], "lens", &lens, &lens_len) != 0 ||
      weft_arg_u32s(env, argv[4], "addrs", &addrs, &addrs_len) != 0 ||
      weft_arg_u32(env, argv[5], "max", 0, UINT32_MAX, &max) != 0)
    return NULL;
  if (max > lens_len) return weft_throw_range(env, "max (%u) exceeds lens.length", max);
  if (2 * (uint64_t)max > addrs_len)
    return weft_throw_range(env, "2 * max exceeds addrs.length");
  if ((uint64_t)stride * max > arena_len)
    return weft_throw_range(env, "stride * max exceeds arena.length");

  while (got < max) {
    unsigned n = max - got < WEFT_MMSG_CHUNK ? max - got : WEFT_MMSG_CHUNK;
    int r;
    memset(msgs, 0, sizeof(msgs[0]) * n);
    for (unsigned j = 0; j < n; j++) {
      iov[j].iov_base = arena + (size_t)(got + j) * stride;
      iov[j].iov_len = stride;
      msgs[j].msg_hdr.msg_name = &names[j];
      msgs[j].msg_hdr.msg_namelen = sizeof names[j];
      msgs[j].msg_hdr.msg_iov = &iov[j];
      msgs[j].msg_hdr.msg_iovlen = 1;
    }
    r = recvmmsg(fd, msgs, n, MSG_DONTWAIT, NULL);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (weft_sock_is_dead(errno)) return weft_throw_errno(env, "recvmmsg", errno, NULL);
      break; /* a queued soft error (e.g. ICMP report) was consumed; try again next time */
    }
    for (int j = 0; j < r; j++) {
      uint32_t k = got + (uint32_t)j;
      int v4 = weft_store_source(&names[j], &addrs[2 * (size_t)k]);
      if (msgs[j].msg_hdr.msg_flags & MSG_TRUNC)
        lens[k] = WEFT_LEN_TRUNCATED;
      else
        lens[k] = v4 ? msgs[j].msg_len : WEFT_LEN_NOT_IPV4;
    }
    got += (uint32_t)r;
    if ((unsigned)r < n) break; /* queue drained: skip the extra EAGAIN syscall */
  }
  return weft_u32(env, got);
}

/* UDP GSO limits: segments per message (the kernel allows 64 or more) and message bytes. */
#define GSO_MAX_SEGS 64
#define GSO_MAX_BYTES 65000u

/* Datagrams [d, d+n) that can go as one UDP GSO message: same destination, contiguous in the
 * arena, all as long as the first except a shorter last one. Returns n >= 1. */
static uint32_t gso_group(const uint32_t *offs, const uint32_t *lens, const uint32_t *addrs,
                          uint32_t d, uint32_t count) {
  uint32_t n = 1, seg = lens[d], total = lens[d];
  if (seg == 0) return 1;
  while (d + n < count && n < GSO_MAX_SEGS) {
    uint32_t k = d + n;
    if (addrs[2 * (size_t)k] != addrs[2 * (size_t)d] ||
        addrs[2 * (size_t)k + 1] != addrs[2 * (size_t)d + 1] ||
        (uint64_t)offs[k - 1] + lens[k - 1] != offs[k] || lens[k] > seg || lens[k] == 0 ||
        total + lens[k] > GSO_MAX_BYTES)
      break;
    total += lens[k];
    n++;
    if (lens[k] < seg) break; /* a shorter datagram ends the message */
  }
  return n;
}

/* udpSendBatch(fd, arena, offs, lens, addrs, count, errs?, gso?): number sent.
 * errs[0..count) is cleared first, then set per datagram to a weft_send_status. With gso,
 * runs found by gso_group() go as one message with a UDP_SEGMENT cmsg; a message the kernel
 * refuses is retried as single datagrams, so every status is per datagram as without it. */
napi_value weft_udp_send_batch(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  int fd, family, have_errs, gso = 0;
  socklen_t flen = sizeof family;
  uint8_t *arena, *errs;
  size_t arena_len, offs_len, lens_len, addrs_len, errs_len;
  uint32_t *offs, *lens, *addrs, count, next = 0, sent = 0, plain_until = 0;
  struct mmsghdr msgs[WEFT_MMSG_CHUNK];
  struct iovec iov[WEFT_MMSG_CHUNK];
  weft_sockaddr names[WEFT_MMSG_CHUNK];
  uint32_t grp_len[WEFT_MMSG_CHUNK];
  union {
    char buf[CMSG_SPACE(sizeof(uint16_t))];
    struct cmsghdr align;
  } ctrl[WEFT_MMSG_CHUNK];
  if (weft_args(env, info, 6, 8, argv) != 0) return NULL;
  if (weft_arg_fd(env, argv[0], "fd", &fd) != 0 ||
      weft_arg_bytes(env, argv[1], "arena", &arena, &arena_len) != 0 ||
      weft_arg_u32s(env, argv[2], "offs", &offs, &offs_len) != 0 ||
      weft_arg_u32s(env, argv[3], "lens", &lens, &lens_len) != 0 ||
      weft_arg_u32s(env, argv[4], "addrs", &addrs, &addrs_len) != 0 ||
      weft_arg_u32(env, argv[5], "count", 0, UINT32_MAX, &count) != 0 ||
      weft_arg_bytes_opt(env, argv[6], "errs", &errs, &errs_len, &have_errs) != 0 ||
      weft_arg_bool(env, argv[7], "gso", 0, &gso) != 0)
    return NULL;
  if (count > offs_len || count > lens_len)
    return weft_throw_range(env, "count (%u) exceeds offs.length or lens.length", count);
  if (2 * (uint64_t)count > addrs_len)
    return weft_throw_range(env, "2 * count exceeds addrs.length");
  if (have_errs && count > errs_len)
    return weft_throw_range(env, "count (%u) exceeds errs.length", count);
  for (uint32_t i = 0; i < count; i++) {
    if (!weft_in_bounds(offs[i], lens[i], arena_len))
      return weft_throw_range(env, "datagram %u: offs + lens exceeds arena.length", i);
    if (addrs[2 * (size_t)i + 1] > 65535)
      return weft_throw_range(env, "datagram %u: port exceeds 65535", i);
  }
  if (count == 0) return weft_u32(env, 0);
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &family, &flen) != 0)
    return weft_throw_errno(env, "getsockopt(SO_DOMAIN)", errno, NULL);
  if (!have_errs) errs = NULL; /* from here on: errs != NULL <=> errs has >= count bytes */
  if (errs != NULL) memset(errs, WEFT_SEND_OK, count);

  while (next < count) {
    unsigned n = 0;
    uint32_t k = next;
    int r;
    while (n < WEFT_MMSG_CHUNK && k < count) {
      unsigned j = n++;
      uint32_t g = gso && k >= plain_until ? gso_group(offs, lens, addrs, k, count) : 1;
      uint64_t bytes = 0;
      for (uint32_t m = 0; m < g; m++) bytes += lens[k + m];
      memset(&msgs[j], 0, sizeof msgs[j]);
      iov[j].iov_base = arena + offs[k];
      iov[j].iov_len = (size_t)bytes;
      msgs[j].msg_hdr.msg_name = &names[j];
      msgs[j].msg_hdr.msg_namelen = make_dest(family, addrs[2 * (size_t)k],
                                              addrs[2 * (size_t)k + 1], &names[j]);
      msgs[j].msg_hdr.msg_iov = &iov[j];
      msgs[j].msg_hdr.msg_iovlen = 1;
      if (g > 1) {
        struct cmsghdr *c = (struct cmsghdr *)ctrl[j].buf;
        uint16_t seg = (uint16_t)lens[k];
        memset(ctrl[j].buf, 0, sizeof ctrl[j].buf);
        c->cmsg_level = SOL_UDP;
        c->cmsg_type = UDP_SEGMENT;
        c->cmsg_len = CMSG_LEN(sizeof seg);
        memcpy(CMSG_DATA(c), &seg, sizeof seg);
        msgs[j].msg_hdr.msg_control = ctrl[j].buf;
        msgs[j].msg_hdr.msg_controllen = sizeof ctrl[j].buf;
      }
      grp_len[j] = g;
      k += g;
    }
    r = sendmmsg(fd, msgs, n, MSG_DONTWAIT);
    if (r > 0) {
      /* A short count means message r failed; the next round retries it and gets its
       * error code (the kernel drops the error of a partially successful call). */
      for (int j = 0; j < r; j++) {
        sent += grp_len[j];
        next += grp_len[j];
      }
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r == 0 || errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
      if (errs != NULL) memset(errs + next, WEFT_SEND_AGAIN, count - next);
      break;
    }
    if (errno == EBADF || errno == ENOTSOCK || errno == EFAULT)
      return weft_throw_errno(env, "sendmmsg", errno, NULL);
    if (grp_len[0] > 1) {
      /* The kernel refused the GSO message (segment above the path MTU gives EINVAL, no
       * checksum offload EIO, …): send its datagrams one by one for their own statuses. */
      plain_until = next + grp_len[0];
      continue;
    }
    /* This one datagram failed (EMSGSIZE, unreachable, firewall, port 0, …): skip it. */
    if (errs != NULL) errs[next] = errno == EMSGSIZE ? WEFT_SEND_MSGSIZE : WEFT_SEND_ERROR;
    next++;
  }
  return weft_u32(env, sent);
}

/* pathMtu(ip): IP_MTU of a connected probe socket (route MTU, or a learned smaller PMTU). */
napi_value weft_path_mtu(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  char ip[INET6_ADDRSTRLEN];
  weft_sockaddr sa;
  socklen_t salen, mlen;
  int fd, mtu = 0, err, df = IP_PMTUDISC_DO;
  if (weft_args(env, info, 1, 1, argv) != 0) return NULL;
  if (weft_arg_str(env, argv[0], "ip", ip, sizeof ip) != 0) return NULL;
  if (parse_ip(ip, PATH_MTU_PROBE_PORT, &sa, &salen) != 0)
    return weft_throw_range(env, "ip must be an IPv4 or IPv6 address literal");
  fd = socket(sa.sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return weft_throw_errno(env, "socket", errno, NULL);
  if (sa.sa.sa_family == AF_INET)
    setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &df, sizeof df);
  if (connect(fd, &sa.sa, salen) != 0) {
    err = errno;
    close(fd);
    return weft_throw_errno(env, "connect", err, ip);
  }
  mlen = sizeof mtu;
  if (sa.sa.sa_family == AF_INET)
    err = getsockopt(fd, IPPROTO_IP, IP_MTU, &mtu, &mlen) == 0 ? 0 : errno;
  else
    err = getsockopt(fd, IPPROTO_IPV6, IPV6_MTU, &mtu, &mlen) == 0 ? 0 : errno;
  close(fd);
  if (err != 0) return weft_throw_errno(env, "getsockopt(IP_MTU)", err, ip);
  return weft_i32(env, mtu);
}
