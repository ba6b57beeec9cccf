/**
 * DnsForwarder: sends a query for a name outside the weft domain to the host's upstream
 * resolvers and returns their reply unchanged. UDP first, from a fresh connected socket per
 * query (a random source port; only the upstream's datagrams are taken, and only a reply with
 * the query's id and question); when the reply is truncated (TC) the query is repeated over TCP.
 * Upstreams are tried in order, each for DNS_UPSTREAM_TIMEOUT_MS.
 */
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import type { Question } from 'dns-packet';
import { DNS_UPSTREAM_TIMEOUT_MS, WeftError } from '../common/index.js';
import { checkUpstreamReply, type Upstream } from '../dns/index.js';

/** What forwarding one query produced. */
export interface ForwardResult {
  reply: Buffer;
  upstream: Upstream;
  /** The UDP reply was truncated and the TCP retry gave the whole answer. */
  viaTcp: boolean;
}

/** Construction options of {@link DnsForwarder}. */
export interface DnsForwarderOptions {
  upstreams: () => readonly Upstream[];
  timeoutMs?: number;
}

/** Stateless between queries; nothing to start or stop (every query owns its socket). */
export class DnsForwarder {
  private readonly timeoutMs: number;

  constructor(private readonly o: DnsForwarderOptions) {
    this.timeoutMs = o.timeoutMs ?? DNS_UPSTREAM_TIMEOUT_MS;
  }

  /**
   * Forward `query`; `udpLimit` is the largest reply the client takes over UDP (a TCP answer
   * larger than it is not used for a UDP client: the truncated reply goes back and the client
   * retries over TCP). Rejects with WEFT_ERR_TIMEOUT / WEFT_ERR_NOT_FOUND when no upstream answered.
   */
  async forward(query: Buffer, id: number, question: Question, transport: 'udp' | 'tcp', udpLimit: number): Promise<ForwardResult> {
    const ups = this.o.upstreams();
    if (ups.length === 0) throw new WeftError('WEFT_ERR_NOT_FOUND', 'no upstream resolver configured');
    let last: unknown;
    for (const up of ups) {
      try {
        const udp = await this.udp(up, query, id, question);
        if (!udp.truncated) return { reply: udp.reply, upstream: up, viaTcp: false };
        try {
          const full = await this.tcp(up, query, id, question);
          if (transport === 'tcp' || full.length <= udpLimit) return { reply: full, upstream: up, viaTcp: true };
        } catch {
          // the truncated answer is still an answer: the client may retry over TCP itself
        }
        return { reply: udp.reply, upstream: up, viaTcp: false };
      } catch (e) {
        last = e;
      }
    }
    throw last instanceof Error ? last : new WeftError('WEFT_ERR_TIMEOUT', 'no upstream resolver answered');
  }

  private udp(up: Upstream, query: Buffer, id: number, question: Question): Promise<{ reply: Buffer; truncated: boolean }> {
    return new Promise((resolve, reject) => {
      const sock = createSocket(up.host.includes(':') ? 'udp6' : 'udp4');
      let done = false;
      const finish = (err: Error | null, v?: { reply: Buffer; truncated: boolean }) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        sock.close();
        if (err) reject(err);
        else resolve(v!);
      };
      const timer = setTimeout(() => finish(new WeftError('WEFT_ERR_TIMEOUT', `upstream ${up.host}:${up.port} did not answer over UDP`)),
        this.timeoutMs);
      sock.on('error', (e) => finish(e));
      sock.on('message', (m) => {
        const c = checkUpstreamReply(m, id, question);
        if (c.ok) finish(null, { reply: m, truncated: c.truncated }); // anything else (stale, forged) is ignored: the timer runs on
      });
      sock.connect(up.port, up.host, () => {
        sock.send(query, (e) => { if (e) finish(e); });
      });
    });
  }

  private tcp(up: Upstream, query: Buffer, id: number, question: Question): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: up.host, port: up.port });
      let buf: Buffer = Buffer.alloc(0);
      let done = false;
      const finish = (err: Error | null, v?: Buffer) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        s.destroy();
        if (err) reject(err);
        else resolve(v!);
      };
      const timer = setTimeout(() => finish(new WeftError('WEFT_ERR_TIMEOUT', `upstream ${up.host}:${up.port} did not answer over TCP`)),
        this.timeoutMs);
      s.on('error', (e) => finish(e));
      s.on('close', () => finish(new WeftError('WEFT_ERR_CLOSED', `upstream ${up.host}:${up.port} closed the TCP connection`)));
      s.on('connect', () => {
        const len = Buffer.alloc(2);
        len.writeUInt16BE(query.length);
        s.write(Buffer.concat([len, query]));
      });
      s.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length < 2) return;
        const n = buf.readUInt16BE(0);
        if (buf.length < 2 + n) return;
        const reply = buf.subarray(2, 2 + n);
        const c = checkUpstreamReply(reply, id, question);
        finish(c.ok ? null : new WeftError('WEFT_ERR_DECODE', `upstream ${up.host}:${up.port} sent a bad TCP reply: ${c.why}`), Buffer.from(reply));
      });
    });
  }
}
