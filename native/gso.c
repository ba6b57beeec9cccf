/*
 * weft data-plane addon: software GSO for TAP super-frames.
 *
 * With IFF_VNET_HDR and TUNSETOFFLOAD(TUN_F_CSUM|TUN_F_TSO*), the kernel hands us TCP
 * super-frames of up to 64 KiB with a partial checksum, described by a virtio_net_hdr. Such a
 * frame cannot cross the overlay as is (the underlay MTU is ~1500), so gsoSplit() cuts it into
 * ordinary Ethernet frames of at most gso_size TCP payload each, with complete IPv4/TCP
 * checksums, exactly as the kernel's own software GSO would. A frame that only carries a
 * partial checksum (NEEDS_CSUM, no GSO) gets its checksum completed.
 *
 * virtio_net_hdr fields are read in host byte order: the TAP uses native endianness unless
 * TUNSETVNETLE/BE is set, which weft never does.
 */
#include "weft_dp.h"

#include <linux/if_ether.h>
#include <linux/virtio_net.h>
#include <string.h>

#define VLAN_TAG_BYTES 4
#define IPPROTO_TCP_NUM 6
#define TCP_FLAG_FIN 0x01
#define TCP_FLAG_PSH 0x08
#define TCP_FLAG_CWR 0x80

static uint16_t rd16be(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t rd32be(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static void wr16be(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}
static void wr32be(uint8_t *p, uint32_t v) {
  wr16be(p, (uint16_t)(v >> 16));
  wr16be(p + 2, (uint16_t)v);
}
static uint16_t rd16host(const uint8_t *p) {
  uint16_t v;
  memcpy(&v, p, 2);
  return v;
}

/* One's-complement sum of big-endian 16-bit words (odd tail padded with zero). */
static uint64_t csum_add(uint64_t sum, const uint8_t *p, size_t n) {
  size_t i = 0;
  for (; i + 1 < n; i += 2) sum += rd16be(p + i);
  if (i < n) sum += (uint32_t)p[i] << 8;
  return sum;
}

/* Fold to 16 bits and complement: the value to store in a checksum field. */
static uint16_t csum_finish(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)~sum;
}

/* Frame layout found by parse_tcp(). All offsets are from the Ethernet header. */
typedef struct {
  size_t l3, l4, payload; /* IP header, TCP header, TCP payload */
  int v6;
} tcp_layout;

/* Locate IPv4/IPv6 and TCP headers; 0 if the frame is not plain TCP we can segment. */
static int parse_tcp(const uint8_t *f, size_t len, tcp_layout *t) {
  size_t l3 = ETH_HLEN;
  uint16_t type;
  if (len < ETH_HLEN) return 0;
  type = rd16be(f + 12);
  if (type == ETH_P_8021Q) {
    if (len < ETH_HLEN + VLAN_TAG_BYTES) return 0;
    type = rd16be(f + 16);
    l3 += VLAN_TAG_BYTES;
  }
  if (type == ETH_P_IP) {
    size_t ihl;
    if (len < l3 + 20 || (f[l3] >> 4) != 4) return 0;
    ihl = (size_t)(f[l3] & 15) * 4;
    if (ihl < 20 || f[l3 + 9] != IPPROTO_TCP_NUM) return 0;
    t->l4 = l3 + ihl;
    t->v6 = 0;
  } else if (type == ETH_P_IPV6) {
    if (len < l3 + 40 || (f[l3] >> 4) != 6 || f[l3 + 6] != IPPROTO_TCP_NUM) return 0;
    t->l4 = l3 + 40; /* extension headers are not supported */
    t->v6 = 1;
  } else {
    return 0;
  }
  if (len < t->l4 + 20) return 0;
  t->payload = t->l4 + (size_t)(f[t->l4 + 12] >> 4) * 4;
  if (t->payload < t->l4 + 20 || t->payload > len) return 0;
  t->l3 = l3;
  return 1;
}

/* Write lengths, IPv4 id and checksum, TCP seq/flags/checksum into segment `seg` (headers
 * already copied, `chunk` payload bytes follow). */
static void fix_segment(uint8_t *seg, const tcp_layout *t, size_t chunk, uint32_t k,
                        uint32_t nseg, uint32_t seq0, uint16_t mss, uint8_t flags0) {
  size_t tcp_len = t->payload - t->l4 + chunk;
  uint8_t *ip = seg + t->l3, *tcp = seg + t->l4;
  uint8_t flags = flags0;
  uint64_t sum;
  if (t->v6) {
    wr16be(ip + 4, (uint16_t)tcp_len);
    sum = csum_add(0, ip + 8, 32); /* source + destination */
  } else {
    wr16be(ip + 2, (uint16_t)(t->l4 - t->l3 + tcp_len));
    wr16be(ip + 4, (uint16_t)(rd16be(ip + 4) + k)); /* one IP id per segment */
    wr16be(ip + 10, 0);
    wr16be(ip + 10, csum_finish(csum_add(0, ip, t->l4 - t->l3)));
    sum = csum_add(0, ip + 12, 8); /* source + destination */
  }
  sum += IPPROTO_TCP_NUM + tcp_len;
  wr32be(tcp + 4, seq0 + k * (uint32_t)mss);
  if (k + 1 < nseg) flags &= (uint8_t)~(TCP_FLAG_FIN | TCP_FLAG_PSH);
  if (k > 0) flags &= (uint8_t)~TCP_FLAG_CWR;
  tcp[13] = flags;
  wr16be(tcp + 16, 0);
  wr16be(tcp + 16, csum_finish(csum_add(sum, tcp, tcp_len)));
}

/* Segment one frame; returns the number of output frames, 0 if malformed/unsupported or if
 * the result does not fit max slots of `stride` bytes. */
static uint32_t gso_one(const uint8_t *vh, const uint8_t *f, size_t len, uint8_t *out,
                        size_t stride, uint32_t *lens, uint32_t max) {
  uint8_t flags = vh[0], gso = vh[1] & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
  uint16_t mss = rd16host(vh + 4), cstart = rd16host(vh + 6), coff = rd16host(vh + 8);
  tcp_layout t;
  size_t payload;
  uint32_t nseg, seq0;
  if (max == 0) return 0;
  if (gso == VIRTIO_NET_HDR_GSO_NONE) {
    if (len > stride) return 0;
    memmove(out, f, len);
    if (flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
      uint16_t c;
      if ((size_t)cstart + coff + 2 > len) return 0;
      /* The field holds the pseudo-header sum already: summing from csum_start to the end,
       * field included, gives the full checksum. 0 is sent as 0xffff (UDP: 0 = none). */
      c = csum_finish(csum_add(0, out + cstart, len - cstart));
      wr16be(out + cstart + coff, c == 0 ? 0xffff : c);
    }
    lens[0] = (uint32_t)len;
    return 1;
  }
  if (gso != VIRTIO_NET_HDR_GSO_TCPV4 && gso != VIRTIO_NET_HDR_GSO_TCPV6) return 0;
  if (mss == 0 || !parse_tcp(f, len, &t) || t.v6 != (gso == VIRTIO_NET_HDR_GSO_TCPV6)) return 0;
  payload = len - t.payload;
  if (payload == 0) return 0;
  nseg = (uint32_t)((payload + mss - 1) / mss);
  if (nseg > max || t.payload + (payload < mss ? payload : mss) > stride) return 0;
  seq0 = rd32be(f + t.l4 + 4);
  for (uint32_t k = 0; k < nseg; k++) {
    size_t at = (size_t)k * mss, chunk = payload - at < mss ? payload - at : mss;
    uint8_t *seg = out + (size_t)k * stride;
    memmove(seg, f, t.payload);
    memmove(seg + t.payload, f + t.payload + at, chunk);
    fix_segment(seg, &t, chunk, k, nseg, seq0, mss, f[t.l4 + 13]);
    lens[k] = (uint32_t)(t.payload + chunk);
  }
  return nseg;
}

/* gsoSplit(arena, off, len, vnetHdrBytes, out, outStride, outLens, max): frames written.
 * Input: arena[off, off+len) = virtio_net_hdr (10 or 12 bytes) + Ethernet frame. Output:
 * plain Ethernet frames (no vnet header) in out slots of outStride bytes. 0 = drop (malformed,
 * unsupported gso_type such as UDP, or not enough room). Input and output must not overlap. */
napi_value weft_gso_split(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  uint8_t *arena, *out;
  size_t arena_len, out_len, lens_len;
  uint32_t off, len, vnet, stride, max, *lens;
  if (weft_args(env, info, 8, 8, argv) != 0) return NULL;
  if (weft_arg_bytes(env, argv[0], "arena", &arena, &arena_len) != 0 ||
      weft_arg_u32(env, argv[1], "off", 0, UINT32_MAX, &off) != 0 ||
      weft_arg_u32(env, argv[2], "len", 0, UINT32_MAX, &len) != 0 ||
      weft_arg_u32(env, argv[3], "vnetHdrBytes", 10, 12, &vnet) != 0 ||
      weft_arg_bytes(env, argv[4], "out", &out, &out_len) != 0 ||
      weft_arg_u32(env, argv[5], "outStride", 1, UINT32_MAX, &stride) != 0 ||
      weft_arg_u32s(env, argv[6], "outLens", &lens, &lens_len) != 0 ||
      weft_arg_u32(env, argv[7], "max", 0, UINT32_MAX, &max) != 0)
    return NULL;
  if (vnet != 10 && vnet != 12) return weft_throw_range(env, "vnetHdrBytes must be 10 or 12");
  if (!weft_in_bounds(off, len, arena_len))
    return weft_throw_range(env, "off + len exceeds arena.length");
  if (max > lens_len) return weft_throw_range(env, "max (%u) exceeds outLens.length", max);
  if ((uint64_t)stride * max > out_len)
    return weft_throw_range(env, "outStride * max exceeds out.length");
  if (len < vnet) return weft_u32(env, 0);
  return weft_u32(env, gso_one(arena + off, arena + off + vnet, len - vnet, out, stride, lens,
                               max));
}
