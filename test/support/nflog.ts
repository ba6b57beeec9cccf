/**
 * An NFLOG listener for tests: binds one NFLOG group in a namespace (a NETLINK_NETFILTER socket
 * from the native addon, metadata only) and collects the prefixes of the records it receives.
 * Polled by `prefixes()`; `close()` releases the socket.
 */
import { loadNativeAddon } from '../../src/host/index.js';

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const NETLINK_NETFILTER = 12;
const NFNL_SUBSYS_ULOG = 4;
const NFULNL_MSG_PACKET = 0;
const NFULNL_MSG_CONFIG = 1;
const NFULA_CFG_CMD = 1;
const NFULA_CFG_MODE = 2;
const NFULNL_CFG_CMD_BIND = 1;
const NFULNL_COPY_META = 1;
const NFULA_PREFIX = 10;

function attr(type: number, value: Buffer): Buffer {
  const len = 4 + value.length;
  const b = Buffer.alloc((len + 3) & ~3);
  b.writeUInt16LE(len, 0);
  b.writeUInt16LE(type, 2);
  value.copy(b, 4);
  return b;
}

export class NflogListener {
  private readonly a = loadNativeAddon();
  private readonly fd: number;
  private readonly buf = Buffer.alloc(65536);
  private readonly seen: string[] = [];

  constructor(nsPath: string, group: number) {
    this.fd = this.a.netnsSocket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER, nsPath);
    this.a.nlSetup(this.fd, new Uint32Array(0), 1 << 20);
    const nfgen = Buffer.alloc(4);
    nfgen.writeUInt16BE(group, 2);
    const mode = Buffer.alloc(6);
    mode.writeUInt8(NFULNL_COPY_META, 4);
    const body = Buffer.concat([nfgen, attr(NFULA_CFG_CMD, Buffer.from([NFULNL_CFG_CMD_BIND])), attr(NFULA_CFG_MODE, mode)]);
    const hdr = Buffer.alloc(16);
    hdr.writeUInt32LE(16 + body.length, 0);
    hdr.writeUInt16LE((NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG, 4);
    hdr.writeUInt16LE(0x1 | 0x4, 6); // NLM_F_REQUEST | NLM_F_ACK
    const req = Buffer.concat([hdr, body]);
    this.a.nlSend(this.fd, req, req.length);
  }

  /** Every record's prefix received so far (reads what is queued; never blocks). */
  prefixes(): string[] {
    for (;;) {
      const n = this.a.nlRecv(this.fd, this.buf);
      if (n < 0) break;
      for (let off = 0; off + 16 <= n;) {
        const len = this.buf.readUInt32LE(off);
        if (len < 16) break;
        if (this.buf.readUInt16LE(off + 4) === ((NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET)) {
          for (let a = off + 20; a + 4 <= off + len;) {
            const alen = this.buf.readUInt16LE(a);
            if (alen < 4) break;
            if ((this.buf.readUInt16LE(a + 2) & 0x3fff) === NFULA_PREFIX) this.seen.push(this.buf.toString('utf8', a + 4, a + alen).replace(/\0+$/, ''));
            a += (alen + 3) & ~3;
          }
        }
        off += (len + 3) & ~3;
      }
    }
    return [...this.seen];
  }

  close(): void {
    this.a.close(this.fd);
  }
}
