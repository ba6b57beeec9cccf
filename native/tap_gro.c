/*
 * weft data-plane addon: receive-side coalescing into a vnet-header TAP ("GRO into the TAP").
 *
 * The sleeve receives a TCP stream as dozens of MSS-sized frames per batch. Writing each one
 * into the TAP costs a syscall plus a trip through the bridge, the veth and the pod's TCP
 * receive. tapWriteCoalesced() instead joins consecutive in-order segments of one TCP flow
 * into one GSO super-frame (virtio_net_hdr: gso_type TCPV4/TCPV6, gso_size = MSS,
 * NEEDS_CSUM with the pseudo-header sum) and writes it with one writev(); the kernel
 * delivers it as GRO would, or segments it where a device needs that. Everything else is
 * written as is, behind a zeroed header ("no offload").
 *
 * Merge rules (the kernel's tcp_gro_receive, a little stricter): untagged Ethernet, IPv4
 * without options or fragments, or IPv6 without extension headers; identical Ethernet
 * header, IP header fields (except IPv4 id, length, checksum), ports, ack, window,
 * data offset and TCP options; flags ACK or ACK|PSH only (PSH ends a run); sequence numbers
 * contiguous; every segment but the last exactly as long as the first; IPv4 header and TCP
 * checksums verified per segment (a bad one is written as is, so the pod drops it as it
 * would have). Frames of other flows may sit between the segments of a run; they keep their
 * own order, only the order between flows changes. Nothing in the arena is modified.
 */
#include "weft_dp.h"

#include <errno.h>
#include <linux/virtio_net.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define ETH_BYTES 14
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define PROTO_TCP 6
#define TCP_ACK 0x10
#define TCP_PSH 0x08
/* Frames looked at together; larger batches are handled in windows of this many. */
#define GRO_WINDOW 256
/* Segments per super-frame (bounds the iovec too). */
#define GRO_MAX_SEGS 64
/* IPv4 total length / IPv6 payload length limit of a super-frame. bytes */
#define GRO_MAX_IP_LEN 65535u
/* Largest header block: Ethernet + IPv6 (40) + TCP with options (60). bytes */
#define GRO_MAX_HDR (ETH_BYTES + 40 + 60)

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t rd32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static void wr16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

/* One's-complement sum of big-endian 16-bit words, 4 bytes at a time into 64 bits. */
static uint64_t sum_bytes(uint64_t sum, const uint8_t *p, size_t n) {
  size_t i = 0;
  for (; i + 4 <= n; i += 4) sum += rd32(p + i);
  for (; i + 1 < n; i += 2) sum += rd16(p + i);
  if (i < n) sum += (uint32_t)p[i] << 8;
  return sum;
}
static uint16_t fold(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)sum;
}

/* What parse() learned about one frame. */
typedef struct {
  uint16_t l4;      /* TCP header offset; 0 = not TCP we understand (never merged) */
  uint16_t payload; /* payload offset (= header block length) */
  uint16_t plen;    /* payload bytes */
  uint8_t v6;
  uint8_t ok;       /* may join or start a run (flags, lengths and checksums fine) */
} seg_info;

/* Pseudo-header sum (addresses, protocol, TCP length) of frame f. */
static uint64_t pseudo_sum(const uint8_t *f, const seg_info *s, uint32_t tcp_len) {
  uint64_t sum = s->v6 ? sum_bytes(0, f + ETH_BYTES + 8, 32) : sum_bytes(0, f + ETH_BYTES + 12, 8);
  return sum + PROTO_TCP + tcp_len;
}

static void parse(const uint8_t *f, uint32_t len, seg_info *s) {
  uint32_t l4, doff;
  uint16_t type;
  memset(s, 0, sizeof *s);
  if (len < ETH_BYTES + 20 + 20 || len > GRO_MAX_IP_LEN) return;
  type = rd16(f + 12);
  if (type == ETHERTYPE_IPV4) {
    const uint8_t *ip = f + ETH_BYTES;
    if (ip[0] != 0x45 || ip[9] != PROTO_TCP || (rd16(ip + 6) & 0x3fff) != 0) return;
    if (ETH_BYTES + (uint32_t)rd16(ip + 2) != len) return; /* padding or truncation */
    l4 = ETH_BYTES + 20;
  } else if (type == ETHERTYPE_IPV6) {
    const uint8_t *ip = f + ETH_BYTES;
    if (len < ETH_BYTES + 40 + 20 || (ip[0] >> 4) != 6 || ip[6] != PROTO_TCP) return;
    if (ETH_BYTES + 40 + (uint32_t)rd16(ip + 4) != len) return;
    l4 = ETH_BYTES + 40;
    s->v6 = 1;
  } else {
    return;
  }
  doff = (uint32_t)(f[l4 + 12] >> 4) * 4;
  if (doff < 20 || l4 + doff > len) return;
  s->l4 = (uint16_t)l4;
  s->payload = (uint16_t)(l4 + doff);
  s->plen = (uint16_t)(len - l4 - doff);
  if (s->plen == 0 || (f[l4 + 13] & (uint8_t)~TCP_PSH) != TCP_ACK) return;
  if (!s->v6 && fold(sum_bytes(0, f + ETH_BYTES, 20)) != 0xffff) return;
  if (fold(sum_bytes(pseudo_sum(f, s, len - l4), f + l4, len - l4)) != 0xffff) return;
  s->ok = 1;
}

/* Same flow: Ethernet header, addresses, ports (both frames parsed as TCP, same family). */
static int same_flow(const uint8_t *a, const seg_info *sa, const uint8_t *b, const seg_info *sb) {
  if (sa->l4 == 0 || sb->l4 == 0 || sa->v6 != sb->v6) return 0;
  if (memcmp(a, b, ETH_BYTES) != 0 || memcmp(a + sa->l4, b + sb->l4, 4) != 0) return 0;
  return sa->v6 ? memcmp(a + ETH_BYTES + 8, b + ETH_BYTES + 8, 32) == 0
                : memcmp(a + ETH_BYTES + 12, b + ETH_BYTES + 12, 8) == 0;
}

/* b may follow a (same flow, both ok) in a super-frame whose next sequence number is seq. */
static int can_follow(const uint8_t *a, const seg_info *sa, const uint8_t *b, const seg_info *sb,
                      uint32_t seq) {
  const uint8_t *ta = a + sa->l4, *tb = b + sb->l4;
  if (sa->payload != sb->payload || sb->plen > sa->plen || rd32(tb + 4) != seq) return 0;
  if (sa->v6) {
    if (memcmp(a + ETH_BYTES, b + ETH_BYTES, 4) != 0 || a[ETH_BYTES + 7] != b[ETH_BYTES + 7]) return 0;
  } else if (memcmp(a + ETH_BYTES, b + ETH_BYTES, 2) != 0 || memcmp(a + ETH_BYTES + 6, b + ETH_BYTES + 6, 3) != 0) {
    return 0; /* version/ihl/tos, flags (DF), ttl */
  }
  if (memcmp(ta + 8, tb + 8, 5) != 0 || memcmp(ta + 14, tb + 14, 2) != 0) return 0; /* ack, doff, window */
  return memcmp(ta + 20, tb + 20, sa->payload - sa->l4 - 20u) == 0; /* options */
}

/* Write one frame behind a zeroed vnet header. 1 written, 0 refused, -1 EAGAIN, -2 dead (errno). */
static int write_plain(int fd, const uint8_t *zero, uint32_t vnet, const uint8_t *f, uint32_t len) {
  struct iovec iov[2] = {{(void *)zero, vnet}, {(void *)f, len}};
  ssize_t n;
  do n = writev(fd, iov, 2);
  while (n < 0 && errno == EINTR);
  if (n >= 0) return 1;
  if (errno == EAGAIN || errno == EWOULDBLOCK) return -1;
  if (errno == EBADF || errno == EBADFD || errno == EFAULT || errno == ENOTTY) return -2;
  return 0;
}

typedef struct {
  int fd;
  uint32_t vnet;
  uint32_t written, writes, supers, merged;
} gro_out;

/* Write the super-frame of run[0..n) (frame pointers, head info hs). Same codes as write_plain. */
static int write_super(gro_out *o, const uint8_t *const *run, const uint32_t *lens, uint32_t n,
                       const seg_info *hs) {
  uint8_t vh[12], hdr[GRO_MAX_HDR];
  struct iovec iov[2 + GRO_MAX_SEGS];
  struct virtio_net_hdr v;
  uint32_t payload = 0, tcp_len;
  uint8_t *tcp = hdr + hs->l4;
  ssize_t r;
  for (uint32_t k = 0; k < n; k++) {
    uint32_t pl = lens[k] - hs->payload;
    iov[2 + k].iov_base = (void *)(run[k] + hs->payload);
    iov[2 + k].iov_len = pl;
    payload += pl;
  }
  memcpy(hdr, run[0], hs->payload);
  tcp_len = hs->payload - hs->l4 + payload;
  if (hs->v6) {
    wr16(hdr + ETH_BYTES + 4, (uint16_t)tcp_len);
  } else {
    wr16(hdr + ETH_BYTES + 2, (uint16_t)(20 + tcp_len));
    wr16(hdr + ETH_BYTES + 10, 0);
    wr16(hdr + ETH_BYTES + 10, (uint16_t)~fold(sum_bytes(0, hdr + ETH_BYTES, 20)));
  }
  tcp[13] = (uint8_t)(TCP_ACK | (run[n - 1][hs->l4 + 13] & TCP_PSH));
  wr16(tcp + 16, fold(pseudo_sum(hdr, hs, tcp_len))); /* partial: pseudo-header sum only */
  memset(&v, 0, sizeof v);
  v.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
  v.gso_type = hs->v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
  v.hdr_len = hs->payload;
  v.gso_size = hs->plen;
  v.csum_start = hs->l4;
  v.csum_offset = 16;
  memset(vh, 0, sizeof vh);
  memcpy(vh, &v, sizeof v);
  iov[0].iov_base = vh;
  iov[0].iov_len = o->vnet;
  iov[1].iov_base = hdr;
  iov[1].iov_len = hs->payload;
  do r = writev(o->fd, iov, (int)(2 + n));
  while (r < 0 && errno == EINTR);
  if (r >= 0) return 1;
  if (errno == EAGAIN || errno == EWOULDBLOCK) return -1;
  if (errno == EBADF || errno == EBADFD || errno == EFAULT || errno == ENOTTY) return -2;
  return 0;
}

/* Coalesce and write frames [0, count) of one window. Returns 0, or -1 to stop (EAGAIN), or
 * -2 with errno set (dead fd). */
static int gro_window(gro_out *o, const uint8_t *arena, const uint32_t *offs, const uint32_t *lens,
                      uint32_t count) {
  static const uint8_t zero[12];
  seg_info info[GRO_WINDOW];
  uint8_t done[GRO_WINDOW];
  const uint8_t *run[GRO_MAX_SEGS];
  uint32_t rlen[GRO_MAX_SEGS];
  for (uint32_t i = 0; i < count; i++) parse(arena + offs[i], lens[i], &info[i]);
  memset(done, 0, count);
  for (uint32_t i = 0; i < count; i++) {
    const uint8_t *h = arena + offs[i];
    const seg_info *hs = &info[i];
    uint32_t n = 1, total, seq;
    int rc;
    if (done[i]) continue;
    run[0] = h;
    rlen[0] = lens[i];
    if (hs->ok && !(h[hs->l4 + 13] & TCP_PSH)) {
      total = hs->payload - ETH_BYTES - (hs->v6 ? 40u : 0u) + hs->plen;
      seq = rd32(h + hs->l4 + 4) + hs->plen;
      for (uint32_t j = i + 1; j < count && n < GRO_MAX_SEGS; j++) {
        const uint8_t *g = arena + offs[j];
        const seg_info *gs = &info[j];
        if (done[j] || !same_flow(h, hs, g, gs)) continue;
        if (!gs->ok || !can_follow(h, hs, g, gs, seq) || total + gs->plen > GRO_MAX_IP_LEN) break;
        done[j] = 1;
        run[n] = g;
        rlen[n++] = lens[j];
        total += gs->plen;
        seq += gs->plen;
        if (gs->plen < hs->plen || (g[gs->l4 + 13] & TCP_PSH)) break; /* a run ends there */
      }
    }
    if (n > 1) {
      o->writes++;
      rc = write_super(o, run, rlen, n, hs);
      if (rc == 1) {
        o->written += n;
        o->supers++;
        o->merged += n;
        continue;
      }
      if (rc < 0) return rc;
      /* Refused: fall back to one write per segment below. */
    }
    for (uint32_t k = 0; k < n; k++) {
      o->writes++;
      rc = write_plain(o->fd, zero, o->vnet, run[k], rlen[k]);
      if (rc < 0) return rc;
      o->written += (uint32_t)rc;
    }
  }
  return 0;
}

/* tapWriteCoalesced(fd, arena, offs, lens, count, vnetHdrBytes, stats?): frames written.
 * For a TAP opened with a vnet header of vnetHdrBytes (10 or 12). stats (Uint32Array, >= 3
 * elements, optional) receives [write syscalls, super-frames, frames inside super-frames]. */
napi_value weft_tap_write_coalesced(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  int fd, have_stats, rc = 0;
  uint8_t *arena;
  size_t arena_len, offs_len, lens_len, stats_len = 0;
  uint32_t *offs, *lens, *stats = NULL, count, vnet;
  gro_out o;
  if (weft_args(env, info, 6, 7, argv) != 0) return NULL;
  if (weft_arg_fd(env, argv[0], "fd", &fd) != 0 ||
      weft_arg_bytes(env, argv[1], "arena", &arena, &arena_len) != 0 ||
      weft_arg_u32s(env, argv[2], "offs", &offs, &offs_len) != 0 ||
      weft_arg_u32s(env, argv[3], "lens", &lens, &lens_len) != 0 ||
      weft_arg_u32(env, argv[4], "count", 0, UINT32_MAX, &count) != 0 ||
      weft_arg_u32(env, argv[5], "vnetHdrBytes", 10, 12, &vnet) != 0)
    return NULL;
  {
    napi_valuetype t;
    napi_typeof(env, argv[6], &t);
    have_stats = t != napi_undefined && t != napi_null;
    if (have_stats && weft_arg_u32s(env, argv[6], "stats", &stats, &stats_len) != 0) return NULL;
    if (have_stats && stats_len < 3) return weft_throw_range(env, "stats needs 3 elements");
  }
  if (vnet != 10 && vnet != 12) return weft_throw_range(env, "vnetHdrBytes must be 10 or 12");
  if (count > offs_len || count > lens_len)
    return weft_throw_range(env, "count (%u) exceeds offs.length or lens.length", count);
  for (uint32_t i = 0; i < count; i++)
    if (!weft_in_bounds(offs[i], lens[i], arena_len))
      return weft_throw_range(env, "frame %u: offs + lens exceeds arena.length", i);

  memset(&o, 0, sizeof o);
  o.fd = fd;
  o.vnet = vnet;
  for (uint32_t at = 0; at < count && rc == 0; at += GRO_WINDOW) {
    uint32_t n = count - at < GRO_WINDOW ? count - at : GRO_WINDOW;
    rc = gro_window(&o, arena, offs + at, lens + at, n);
  }
  if (rc == -2) return weft_throw_errno(env, "writev", errno, NULL);
  if (stats != NULL) {
    stats[0] = o.writes;
    stats[1] = o.supers;
    stats[2] = o.merged;
  }
  return weft_u32(env, o.written);
}
