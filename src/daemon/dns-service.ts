/**
 * DnsService: service discovery on this host (docs/dns.md). It owns the manual-record store
 * (gossiped on DNS_GOSSIP_CHANNEL, persisted in `<data dir>/dns-records.json`), derives the
 * name table from the workload source's pods and those records, and runs the DNS server on the
 * host's overlay address (the first address `weft expose` put on the bridge), forwarding every
 * other name to the upstream resolvers (`--dns-upstream`, default the nameservers of
 * /etc/resolv.conf). It serves the dns-* API routes.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Counter, type Registry } from 'prom-client';
import {
  DNS_GOSSIP_CHANNEL, DNS_MAX_FORWARDS_IN_FLIGHT, DNS_REBIND_CHECK_MS, DNS_RESOLV_CONF, WeftError, describeError,
  type Logger, type Startable,
} from '../common/index.js';
import { API_ROUTES, type ApiServer, type DnsStatus } from '../api/index.js';
import {
  DnsRecordStore, NameTable, handleQuery, normalizeName, parseResolvConf, relativeName, servfail,
  type NamedWorkload, type QueryOutcome, type RefusalReason, type Upstream,
} from '../dns/index.js';
import type { GossipChannel, Gossiper, PeerName } from '../mesh/index.js';
import { StateWriter } from './atomic-file.js';
import { DnsForwarder } from './dns-forwarder.js';
import { DnsServer } from './dns-server.js';

/** File of the manual records in the data dir. */
export const DNS_RECORDS_FILE = 'dns-records.json';

/** Construction options of {@link DnsService}. */
export interface DnsServiceOptions {
  self: PeerName;
  dataDir: string;
  log: Logger;
  registry?: Registry;
  /** The weft domain (normalised by the service). */
  domain: string;
  /** Upstream resolvers; undefined: the nameservers of `resolvConf`. */
  upstreams?: readonly Upstream[];
  resolvConf?: string;
  /** Port of the server (DNS_PORT; tests of the service alone may use another). */
  port: number;
  /** Every workload known cluster-wide (the workload directory's pods). */
  workloads(): readonly NamedWorkload[];
  /** Subscribe to changes of `workloads()`. */
  onWorkloadsChanged(cb: () => void): void;
  /** The host's overlay address, if it has one (read at start, after expose/hide, and every DNS_REBIND_CHECK_MS). */
  listenAddress(): Promise<string | undefined>;
  now?: () => number;
}

type Result = 'answered' | 'nxdomain' | 'forwarded' | 'servfail' | 'refused';

/**
 * Lifecycle: `attach(router)` registers the gossip channel (before the router starts);
 * `start()` loads the persisted records, reads the upstreams and binds the server if the host
 * has an overlay address; `addressChanged()` (after expose/hide) and a timer rebind it when the
 * address moves; `stop()` closes the sockets and waits for the last save. Guarantees: a
 * malformed message is counted by reason, answered FORMERR when its header is readable and
 * logged (at most once per reason per minute at warn), never a crash; at most
 * DNS_MAX_FORWARDS_IN_FLIGHT forwards at once (beyond: SERVFAIL); a failed bind is logged and
 * retried by the timer.
 */
export class DnsService implements Startable {
  readonly store: DnsRecordStore;
  readonly domain: string;
  private channel: GossipChannel | null = null;
  private readonly writer: StateWriter;
  private readonly forwarder: DnsForwarder;
  private upstreams: readonly Upstream[] = [];
  private table: NameTable | null = null;
  private server: DnsServer | null = null;
  private listening: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private rebinding: Promise<void> = Promise.resolve();
  private started = false;
  private stopped = false;
  private inFlight = 0;
  private readonly counts: Record<Result, number> = { answered: 0, nxdomain: 0, forwarded: 0, servfail: 0, refused: 0 };
  private readonly refusedBy: Partial<Record<RefusalReason, number>> = {};
  private readonly lastWarned = new Map<string, number>();
  private readonly queries: Counter | null;
  private readonly refusals: Counter | null;
  private readonly now: () => number;

  constructor(private readonly o: DnsServiceOptions) {
    this.now = o.now ?? Date.now;
    this.domain = normalizeName(o.domain);
    this.writer = new StateWriter(o.log, 'dns');
    this.store = new DnsRecordStore(() => {
      this.table = null;
      if (this.started && !this.stopped) this.writer.save(join(o.dataDir, DNS_RECORDS_FILE), () => this.store.serialize());
    });
    o.onWorkloadsChanged(() => { this.table = null; });
    this.forwarder = new DnsForwarder({ upstreams: () => this.upstreams });
    const registers = o.registry ? [o.registry] : [];
    this.queries = o.registry ? new Counter({
      name: 'weft_dns_queries_total', help: 'DNS messages by outcome (answered, nxdomain, forwarded, servfail, refused).',
      labelNames: ['result'] as const, registers,
    }) : null;
    this.refusals = o.registry ? new Counter({
      name: 'weft_dns_refused_total', help: 'Malformed DNS messages refused, by reason.', labelNames: ['reason'] as const, registers,
    }) : null;
  }

  /** Register the `dns` gossip channel with the router. */
  attach(router: { newGossip(name: string, g: Gossiper): GossipChannel }): void {
    this.channel = router.newGossip(DNS_GOSSIP_CHANNEL, this.store);
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const text = await readFile(join(this.o.dataDir, DNS_RECORDS_FILE), 'utf8').catch(() => null);
    if (text !== null) {
      try {
        const n = this.store.load(text);
        this.o.log.info({ entries: n }, 'dns: manual records loaded from the data dir');
      } catch (e) {
        this.o.log.warn({ err: describeError(e) }, 'dns: ignoring an unreadable records file');
      }
    }
    if (this.o.upstreams) this.upstreams = this.o.upstreams;
    else {
      const conf = this.o.resolvConf ?? DNS_RESOLV_CONF;
      const rc = await readFile(conf, 'utf8').catch(() => '');
      this.upstreams = parseResolvConf(rc);
      if (this.upstreams.length === 0) this.o.log.warn({ file: conf }, 'dns: no upstream resolver found; names outside the weft domain get SERVFAIL');
    }
    await this.addressChanged();
    this.timer = setInterval(() => {
      void this.addressChanged();
      this.store.expire(this.now());
    }, DNS_REBIND_CHECK_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.rebinding;
    await this.server?.stop();
    this.server = null;
    this.listening = null;
    await this.writer.close();
  }

  /** The host's overlay address may have changed (expose/hide): listen where it now is. */
  addressChanged(): Promise<void> {
    this.rebinding = this.rebinding.then(() => this.rebind()).catch((e: unknown) => {
      this.o.log.warn({ err: describeError(e) }, 'dns: could not follow the overlay address');
    });
    return this.rebinding;
  }

  /** Answer one DNS message (the server's handler; the bench and fuzzing drive it too). */
  async handle(msg: Buffer, transport: 'udp' | 'tcp'): Promise<Buffer | null> {
    const o = handleQuery(msg, { domain: this.domain, lookup: (rel) => this.names().lookup(rel), transport });
    if (o.kind === 'answer') {
      this.count(o.rcode === 'NXDOMAIN' ? 'nxdomain' : 'answered');
      return o.reply;
    }
    if (o.kind === 'refused') {
      this.refused(o);
      return o.reply;
    }
    if (this.inFlight >= DNS_MAX_FORWARDS_IN_FLIGHT) {
      this.count('servfail');
      return servfail(o.id, o.question);
    }
    this.inFlight++;
    try {
      const r = await this.forwarder.forward(msg, o.id, o.question, transport, o.udpLimit);
      this.count('forwarded');
      return r.reply;
    } catch (e) {
      this.count('servfail');
      this.warnOnce('upstream', { err: describeError(e), name: o.question.name }, 'dns: no upstream answered');
      return servfail(o.id, o.question);
    } finally {
      this.inFlight--;
    }
  }

  /** The `dns` section of /status. */
  status(): DnsStatus {
    const t = this.names();
    return {
      domain: this.domain, listening: this.listening,
      upstreams: this.upstreams.map((u) => (u.host.includes(':') ? `[${u.host}]:${u.port}` : `${u.host}:${u.port}`)),
      names: t.size, manual: [...this.store.live().values()].reduce((n, l) => n + l.length, 0), skippedWorkloads: t.skipped,
      queries: { ...this.counts }, refusedBy: { ...this.refusedBy },
    };
  }

  /** Serve dns-add, dns-remove, dns-lookup and dns-args (requests arrive validated). */
  registerRoutes(api: ApiServer): void {
    api.handle(API_ROUTES.dnsAdd, ({ request }) => {
      const rel = this.relative(request.name);
      const r = this.store.add(rel, request.ips, this.now(), this.o.self);
      this.broadcast(r.update);
      return { name: this.full(rel), added: [...r.changed], unchanged: [...r.unchanged] };
    });
    api.handle(API_ROUTES.dnsRemove, ({ request }) => {
      const rel = this.relative(request.name);
      const r = this.store.remove(rel, request.ips ?? [], this.now(), this.o.self);
      this.broadcast(r.update);
      return { name: this.full(rel), removed: [...r.changed], unknown: [...r.unchanged] };
    });
    api.handle(API_ROUTES.dnsLookup, ({ request }) => {
      const rel = this.relative(request.name);
      const found = this.names().lookup(rel);
      if (!found) throw new WeftError('WEFT_ERR_NOT_FOUND', `${this.full(rel)} is not a known name`);
      const manual = this.store.live().get(rel) ?? [];
      const workloads = new NameTable(this.o.workloads(), new Map()).lookup(rel);
      return {
        name: this.full(rel), addresses: [...found.v4, ...found.v6],
        workloads: workloads ? [...workloads.v4, ...workloads.v6] : [], manual,
      };
    });
    api.handle(API_ROUTES.dnsArgs, () => {
      if (!this.listening) {
        throw new WeftError('WEFT_ERR_DNS_UNAVAILABLE', 'the DNS server does not listen: give the host an overlay address first (weft expose)');
      }
      const server = this.listening.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
      return { server, domain: this.domain, args: ['--dns', server, '--dns-search', this.domain] };
    });
  }

  private relative(name: string): string {
    const rel = relativeName(name, this.domain);
    if (rel === '') throw new WeftError('WEFT_ERR_BAD_ARGS', `invalid name "${name}": the domain itself is not a name`);
    return rel;
  }

  private full(rel: string): string {
    return `${rel}.${this.domain}`;
  }

  private names(): NameTable {
    this.table ??= new NameTable(this.o.workloads(), this.store.live());
    return this.table;
  }

  private broadcast(update: Buffer | null): void {
    if (!update) return;
    try {
      this.channel?.broadcast(update);
    } catch (e) {
      this.o.log.debug({ err: describeError(e) }, 'dns: broadcast failed (the next gossip round carries it)');
    }
  }

  private async rebind(): Promise<void> {
    if (this.stopped) return;
    const addr = await this.o.listenAddress();
    const want = addr ? (addr.includes(':') ? `[${addr}]:${this.o.port}` : `${addr}:${this.o.port}`) : null;
    if (want === this.listening && (this.server !== null) === (want !== null)) return;
    if (this.server) {
      await this.server.stop();
      this.server = null;
      this.listening = null;
      this.o.log.info('dns: server stopped (the overlay address moved or went away)');
    }
    if (!addr || this.stopped) return;
    const server = new DnsServer({
      host: addr, port: this.o.port, handler: (m, t) => this.handle(m, t),
      onError: (where, e) => this.warnOnce(where, { err: describeError(e) }, `dns: ${where} error`),
    });
    try {
      await server.start();
    } catch (e) {
      this.warnOnce('bind', { addr: want, err: describeError(e) }, 'dns: could not listen (retried)');
      return;
    }
    this.server = server;
    this.listening = want;
    this.o.log.info({ addr: want, domain: this.domain, upstreams: this.upstreams.length }, 'dns: server listening');
  }

  private count(r: Result): void {
    this.counts[r]++;
    this.queries?.inc({ result: r });
  }

  private refused(o: Extract<QueryOutcome, { kind: 'refused' }>): void {
    this.count('refused');
    this.refusedBy[o.reason] = (this.refusedBy[o.reason] ?? 0) + 1;
    this.refusals?.inc({ reason: o.reason });
    this.warnOnce(`refused:${o.reason}`, { reason: o.reason, detail: o.detail }, 'dns: refused a malformed message');
  }

  /** Warn at most once a minute per key; the rest at debug. */
  private warnOnce(key: string, fields: Record<string, unknown>, msg: string): void {
    const t = this.now();
    const last = this.lastWarned.get(key);
    if (last === undefined || t - last >= 60_000) {
      this.lastWarned.set(key, t);
      this.o.log.warn(fields, msg);
    } else this.o.log.debug(fields, msg);
  }
}
