/**
 * DnsServer: the per-host DNS server's sockets, UDP and TCP on one address and port (the host's
 * overlay address, port DNS_PORT). Every message goes to the handler; its answer (or none) goes
 * back on the same transport. TCP follows RFC 7766: 2-byte length frames, several queries per
 * connection answered in order, idle connections closed after DNS_TCP_IDLE_MS, at most
 * DNS_MAX_TCP_CLIENTS at once. A handler that throws is answered with nothing (and logged by
 * the service), never a crash.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import { DNS_MAX_TCP_CLIENTS, DNS_TCP_IDLE_MS, type Startable } from '../common/index.js';

/** Answers one message; null: send nothing (TCP: close the connection). */
export type DnsHandler = (msg: Buffer, transport: 'udp' | 'tcp') => Promise<Buffer | null>;

/** Construction options of {@link DnsServer}. */
export interface DnsServerOptions {
  host: string;
  port: number;
  handler: DnsHandler;
  onError(where: string, e: unknown): void;
}

/**
 * Lifecycle: `start()` binds both sockets (rejects with the bind error, nothing left open);
 * `stop()` closes them and every client connection. One instance per address: to move, stop
 * it and start a new one.
 */
export class DnsServer implements Startable {
  private udp: UdpSocket | null = null;
  private tcp: Server | null = null;
  private readonly clients = new Set<Socket>();

  constructor(private readonly o: DnsServerOptions) {}

  async start(): Promise<void> {
    const udp = createSocket({ type: this.o.host.includes(':') ? 'udp6' : 'udp4' });
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind({ address: this.o.host, port: this.o.port, exclusive: true }, () => {
          udp.off('error', reject);
          resolve();
        });
      });
    } catch (e) {
      udp.close();
      throw e;
    }
    udp.on('error', (e) => this.o.onError('udp socket', e));
    udp.on('message', (msg, rinfo) => {
      this.o.handler(msg, 'udp').then((reply) => {
        if (reply) udp.send(reply, rinfo.port, rinfo.address, (e) => { if (e) this.o.onError('udp send', e); });
      }, (e: unknown) => this.o.onError('udp query', e));
    });
    const tcp = createServer({ noDelay: true }, (s) => this.serveTcp(s));
    tcp.maxConnections = DNS_MAX_TCP_CLIENTS;
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen({ host: this.o.host, port: this.o.port, exclusive: true }, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
    } catch (e) {
      udp.close();
      throw e;
    }
    tcp.on('error', (e) => this.o.onError('tcp listener', e));
    this.udp = udp;
    this.tcp = tcp;
  }

  async stop(): Promise<void> {
    const udp = this.udp;
    const tcp = this.tcp;
    this.udp = null;
    this.tcp = null;
    for (const c of this.clients) c.destroy();
    this.clients.clear();
    if (udp) await new Promise<void>((r) => udp.close(() => r()));
    if (tcp) await new Promise<void>((r) => tcp.close(() => r()));
  }

  private serveTcp(s: Socket): void {
    this.clients.add(s);
    s.setTimeout(DNS_TCP_IDLE_MS, () => s.destroy());
    s.on('close', () => this.clients.delete(s));
    s.on('error', () => s.destroy());
    let buf: Buffer = Buffer.alloc(0);
    let chain: Promise<void> = Promise.resolve();
    s.on('data', (d: Buffer) => {
      buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
      while (buf.length >= 2) {
        const n = buf.readUInt16BE(0);
        if (buf.length < 2 + n) break;
        const msg = Buffer.from(buf.subarray(2, 2 + n));
        buf = buf.subarray(2 + n);
        // Answers go out in the order the queries came.
        chain = chain.then(async () => {
          const reply = await this.o.handler(msg, 'tcp').catch((e: unknown) => {
            this.o.onError('tcp query', e);
            return null;
          });
          if (s.destroyed) return;
          if (!reply) {
            s.destroy();
            return;
          }
          const len = Buffer.alloc(2);
          len.writeUInt16BE(reply.length);
          s.write(Buffer.concat([len, reply]));
        });
      }
    });
  }
}
