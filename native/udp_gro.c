/*
 * weft data-plane addon: UDP GRO on receive.
 *
 * With UDP_GRO set on a socket, the kernel may queue a train of equal-size datagrams from one
 * source (a UDP GSO send that crossed a veth intact, or datagrams the NIC's GRO merged) as one
 * buffer, and reports the datagram size in a UDP_GRO cmsg. udpRecvBatchGro() receives such
 * buffers into regions of `msgBytes` and reports every datagram as its own entry
 * (offs[i], lens[i], addrs[2i..2i+1]) pointing inside them: nothing is copied. Plain
 * datagrams are one entry each.
 */
#include "weft_dp.h"
#include "udp_internal.h"

#include <errno.h>
#include <netinet/udp.h>
#include <string.h>

/* Datagrams one received buffer can hold at most (the kernel merges up to 64; a local GSO
 * sender may send up to 128). Messages are only posted while this many entries are free. */
#define GRO_MAX_SEGS_PER_MSG 128

/* udpSetGro(fd, on): setsockopt(UDP_GRO). */
napi_value weft_udp_set_gro(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int fd, on;
  if (weft_args(env, info, 2, 2, argv) != 0) return NULL;
  if (weft_arg_fd(env, argv[0], "fd", &fd) != 0 || weft_arg_bool(env, argv[1], "on", 0, &on) != 0)
    return NULL;
  if (setsockopt(fd, IPPROTO_UDP, UDP_GRO, &on, sizeof on) != 0)
    return weft_throw_errno(env, "setsockopt(UDP_GRO)", errno, NULL);
  return weft_undefined(env);
}

/* GRO segment size from a received message's control data, 0 if none. */
static uint32_t gro_size(struct msghdr *m) {
  for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c != NULL; c = CMSG_NXTHDR(m, c)) {
    if (c->cmsg_level == IPPROTO_UDP && c->cmsg_type == UDP_GRO && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
      int v;
      memcpy(&v, CMSG_DATA(c), sizeof v);
      return v > 0 ? (uint32_t)v : 0;
    }
  }
  return 0;
}

/* udpRecvBatchGro(fd, arena, msgBytes, offs, lens, addrs, max): entries (0 = nothing queued).
 * Buffer j goes to arena[j*msgBytes, (j+1)*msgBytes). Entry i: offs[i], lens[i] (or
 * WEFT_LEN_TRUNCATED / WEFT_LEN_NOT_IPV4 as udpRecvBatch), addrs[2i] IPv4, addrs[2i+1] port. */
napi_value weft_udp_recv_batch_gro(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  int fd;
  uint8_t *arena;
  size_t arena_len, offs_len, lens_len, addrs_len;
  uint32_t msg_bytes, max, *offs, *lens, *addrs, got = 0, regions;
  struct mmsghdr msgs[WEFT_MMSG_CHUNK];
  struct iovec iov[WEFT_MMSG_CHUNK];
  weft_sockaddr names[WEFT_MMSG_CHUNK];
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } ctrl[WEFT_MMSG_CHUNK];
  if (weft_args(env, info, 7, 7, argv) != 0) return NULL;
  if (weft_arg_fd(env, argv[0], "fd", &fd) != 0 ||
      weft_arg_bytes(env, argv[1], "arena", &arena, &arena_len) != 0 ||
      weft_arg_u32(env, argv[2], "msgBytes", 1, UINT32_MAX, &msg_bytes) != 0 ||
      weft_arg_u32s(env, argv[3], "offs", &offs, &offs_len) != 0 ||
      weft_arg_u32s(env, argv[4], "lens", &lens, &lens_len) != 0 ||
      weft_arg_u32s(env, argv[5], "addrs", &addrs, &addrs_len) != 0 ||
      weft_arg_u32(env, argv[6], "max", 0, UINT32_MAX, &max) != 0)
    return NULL;
  if (max > offs_len || max > lens_len)
    return weft_throw_range(env, "max (%u) exceeds offs.length or lens.length", max);
  if (2 * (uint64_t)max > addrs_len) return weft_throw_range(env, "2 * max exceeds addrs.length");
  regions = (uint32_t)(arena_len / msg_bytes);

  /* One recvmmsg: as many buffers as there are regions and room for their entries. */
  {
    uint32_t n = regions < WEFT_MMSG_CHUNK ? regions : WEFT_MMSG_CHUNK;
    uint32_t room = max / GRO_MAX_SEGS_PER_MSG;
    int r;
    if (n > room) n = room > 0 ? room : (max > 0 && regions > 0 ? 1 : 0);
    if (n == 0) return weft_u32(env, 0);
    memset(msgs, 0, sizeof(msgs[0]) * n);
    for (uint32_t j = 0; j < n; j++) {
      iov[j].iov_base = arena + (size_t)j * msg_bytes;
      iov[j].iov_len = msg_bytes;
      msgs[j].msg_hdr.msg_name = &names[j];
      msgs[j].msg_hdr.msg_namelen = sizeof names[j];
      msgs[j].msg_hdr.msg_iov = &iov[j];
      msgs[j].msg_hdr.msg_iovlen = 1;
      msgs[j].msg_hdr.msg_control = ctrl[j].buf;
      msgs[j].msg_hdr.msg_controllen = sizeof ctrl[j].buf;
    }
    do r = recvmmsg(fd, msgs, n, MSG_DONTWAIT, NULL);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return weft_u32(env, 0);
      if (weft_sock_is_dead(errno)) return weft_throw_errno(env, "recvmmsg", errno, NULL);
      return weft_u32(env, 0); /* a queued soft error was consumed; try again next time */
    }
    for (int j = 0; j < r && got < max; j++) {
      uint32_t base = (uint32_t)j * msg_bytes, len = msgs[j].msg_len;
      uint32_t seg = gro_size(&msgs[j].msg_hdr), src[2];
      int v4 = weft_store_source(&names[j], src);
      if ((msgs[j].msg_hdr.msg_flags & MSG_TRUNC) || !v4 || seg == 0 || seg >= len) {
        offs[got] = base;
        lens[got] = (msgs[j].msg_hdr.msg_flags & MSG_TRUNC) ? WEFT_LEN_TRUNCATED
                    : !v4                                   ? WEFT_LEN_NOT_IPV4
                                                            : len;
        addrs[2 * (size_t)got] = src[0];
        addrs[2 * (size_t)got + 1] = src[1];
        got++;
        continue;
      }
      for (uint32_t at = 0; at < len; at += seg) {
        if (got == max) break; /* cannot happen with the room check; never overflow */
        offs[got] = base + at;
        lens[got] = len - at < seg ? len - at : seg;
        addrs[2 * (size_t)got] = src[0];
        addrs[2 * (size_t)got + 1] = src[1];
        got++;
      }
    }
  }
  return weft_u32(env, got);
}
