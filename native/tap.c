/*
 * weft data-plane addon: TAP device open and batched frame I/O.
 *
 * A TAP fd carries one Ethernet frame per read()/write(). With IFF_VNET_HDR every frame is
 * prefixed by a struct virtio_net_hdr (10 bytes, or 12 after TUNSETVNETHDRSZ) that carries
 * checksum/GSO metadata; that is the hook for TSO/GSO super-frames (see native/README.md):
 * tapSetOffload() enables TUN_F_* offloads so the kernel may hand us frames up to 64 KiB,
 * which the caller must then segment (or send as UDP GSO) itself.
 */
#include "weft_dp.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* Same rules as the kernel's dev_valid_name(), plus no '%' (a "%d" pattern would make the
 * kernel pick the name, and the caller would not know which device it got). */
static int tap_name_ok(const char *name) {
  if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) return 0;
  for (const char *p = name; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (c == '/' || c == ':' || c == '%' || c <= ' ' || c >= 0x7f) return 0;
  }
  return 1;
}

/* tapOpen(name: string, vnetHdrBytes: 0 | 10 | 12): fd */
napi_value weft_tap_open(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  char name[IFNAMSIZ];
  uint32_t vnet = 0;
  struct ifreq ifr;
  int fd;
  if (weft_args(env, info, 1, 2, argv) != 0) return NULL;
  if (weft_arg_str(env, argv[0], "name", name, sizeof name) != 0) return NULL;
  if (!tap_name_ok(name))
    return weft_throw_range(env, "name is not a valid interface name");
  {
    napi_valuetype t;
    napi_typeof(env, argv[1], &t);
    if (t != napi_undefined && weft_arg_u32(env, argv[1], "vnetHdrBytes", 0, 12, &vnet) != 0)
      return NULL;
    if (vnet != 0 && vnet != 10 && vnet != 12)
      return weft_throw_range(env, "vnetHdrBytes must be 0, 10 or 12");
  }

  fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return weft_throw_errno(env, "open", errno, "/dev/net/tun");
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, name, strlen(name)); /* fits: weft_arg_str checked < IFNAMSIZ */
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0);
  if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
    int err = errno;
    close(fd);
    return weft_throw_errno(env, "ioctl(TUNSETIFF)", err, name);
  }
  if (vnet != 0) {
    int sz = (int)vnet;
    if (ioctl(fd, TUNSETVNETHDRSZ, &sz) != 0) {
      int err = errno;
      close(fd);
      return weft_throw_errno(env, "ioctl(TUNSETVNETHDRSZ)", err, name);
    }
  }
  return weft_i32(env, fd);
}

/* tapSetOffload(fd, flags: TUN_F_* bit set): undefined. Only meaningful with a vnet header. */
napi_value weft_tap_set_offload(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int fd;
  uint32_t flags;
  const uint32_t known = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN | TUN_F_UFO;
  if (weft_args(env, info, 2, 2, argv) != 0) return NULL;
  if (weft_arg_fd(env, argv[0], "fd", &fd) != 0) return NULL;
  if (weft_arg_u32(env, argv[1], "flags", 0, known, &flags) != 0) return NULL;
  if ((flags & ~known) != 0) return weft_throw_range(env, "flags has unknown TUN_F_* bits");
  if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)flags) != 0)
    return weft_throw_errno(env, "ioctl(TUNSETOFFLOAD)", errno, NULL);
  return weft_undefined(env);
}

/* readBatch(fd, arena, stride, lens, max): count.
 * Frame i lands in arena[i*stride, (i+1)*stride); lens[i] is its length, or
 * WEFT_LEN_TRUNCATED when it filled the whole slot: a TAP read silently truncates to the
 * buffer size, so a frame of exactly `stride` bytes cannot be told from a longer one.
 * Callers size slots at least one byte larger than the largest frame they accept. */
napi_value weft_read_batch(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  int fd;
  uint8_t *arena;
  size_t arena_len, lens_len;
  uint32_t stride, max, *lens, i = 0;
  if (weft_args(env, info, 5, 5, argv) != 0) return NULL;
  if (weft_arg_fd(env, argv[0], "fd", &fd) != 0 ||
      weft_arg_bytes(env, argv[1], "arena", &arena, &arena_len) != 0 ||
      weft_arg_u32(env, argv[2], "stride", 1, UINT32_MAX, &stride) != 0 ||
      weft_arg_u32s(env, argv[3], "lens", &lens, &lens_len) != 0 ||
      weft_arg_u32(env, argv[4], "max", 0, UINT32_MAX, &max) != 0)
    return NULL;
  if (max > lens_len) return weft_throw_range(env, "max (%u) exceeds lens.length", max);
  if ((uint64_t)stride * max > arena_len)
    return weft_throw_range(env, "stride * max exceeds arena.length");

  while (i < max) {
    ssize_t n = read(fd, arena + (size_t)i * stride, stride);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (i > 0) break; /* report what we have; the error repeats on the next call */
      return weft_throw_errno(env, "read", errno, NULL);
    }
    if (n == 0) break; /* no frame (cannot happen on a TAP; be safe against a busy loop) */
    lens[i++] = (uint64_t)n >= stride ? WEFT_LEN_TRUNCATED : (uint32_t)n;
  }
  return weft_u32(env, i);
}

/* Errors that say the fd itself is unusable: the batch cannot continue. */
static int fd_is_dead(int err) {
  return err == EBADF || err == EBADFD || err == EFAULT || err == ENOTTY;
}

/* writeBatch(fd, arena, offs, lens, count): frames written.
 * Every (offs[i], lens[i]) is validated before the first write. One write() per frame;
 * stops at EAGAIN (the caller counts the rest as dropped). A frame the kernel refuses on
 * its own (EINVAL for a runt, EIO while the link is down, …) is skipped and not counted. */
napi_value weft_write_batch(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  int fd;
  uint8_t *arena;
  size_t arena_len, offs_len, lens_len;
  uint32_t *offs, *lens, count, i, written = 0;
  if (weft_args(env, info, 5, 5, argv) != 0) return NULL;
  if (weft_arg_fd(env, argv[0], "fd", &fd) != 0 ||
      weft_arg_bytes(env, argv[1], "arena", &arena, &arena_len) != 0 ||
      weft_arg_u32s(env, argv[2], "offs", &offs, &offs_len) != 0 ||
      weft_arg_u32s(env, argv[3], "lens", &lens, &lens_len) != 0 ||
      weft_arg_u32(env, argv[4], "count", 0, UINT32_MAX, &count) != 0)
    return NULL;
  if (count > offs_len || count > lens_len)
    return weft_throw_range(env, "count (%u) exceeds offs.length or lens.length", count);
  for (i = 0; i < count; i++)
    if (!weft_in_bounds(offs[i], lens[i], arena_len))
      return weft_throw_range(env, "frame %u: offs + lens exceeds arena.length", i);

  for (i = 0; i < count; i++) {
    ssize_t n;
    do n = write(fd, arena + offs[i], lens[i]);
    while (n < 0 && errno == EINTR);
    if (n >= 0) {
      written++;
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    if (fd_is_dead(errno)) return weft_throw_errno(env, "write", errno, NULL);
    /* per-frame refusal: skip it */
  }
  return weft_u32(env, written);
}
