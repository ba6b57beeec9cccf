/**
 * Where the policy service's input comes from. Mesh mode: {@link MeshPolicySource}, the gossiped
 * policy store (written by `weft policy apply` on any host, persisted in the data dir) and the
 * workload directory (every host's pods). Kubernetes mode (`--kube`): a source reading the API
 * server replaces it behind the same interface.
 */
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import {
  POLICY_GOSSIP_CHANNEL, WORKLOAD_GOSSIP_CHANNEL, describeError, type Logger,
} from '../common/index.js';
import { PolicyStore, WorkloadDirectory, type AnnouncedPod } from '../directory/index.js';
import type { GossipChannel, Gossiper, PeerName } from '../mesh/index.js';
import type { PolicyInput, PolicyInputSource } from '../policy/index.js';
import { StateWriter } from './atomic-file.js';

/** The source contract lives with the model (src/policy), so Kubernetes mode implements the same one. */
export type { PolicyInputSource } from '../policy/index.js';

/** Files of the mesh source in the data dir. */
export const POLICY_STORE_FILE = 'policy-store.json';
export const WORKLOADS_FILE = 'workloads.bin';

/** Construction options of {@link MeshPolicySource}. */
export interface MeshPolicySourceOptions {
  self: PeerName;
  dataDir: string;
  log: Logger;
  /** The local pods to announce, read whenever {@link MeshPolicySource.localChanged} is called. */
  localPods(): AnnouncedPod[];
  now?: () => number;
}

/**
 * Mesh mode's source. `attach(router)` registers both gossip channels (before the router
 * starts); `start()` loads the persisted store and the last view of other hosts' pods, then
 * announces ours; every change is persisted (atomically, serialised; failures logged). The
 * daemon calls `localChanged()` after attach/detach/label and `peerGone(name)` when the mesh
 * forgets a peer.
 */
export class MeshPolicySource implements PolicyInputSource {
  readonly store: PolicyStore;
  readonly directory: WorkloadDirectory;
  private policyChannel: GossipChannel | null = null;
  private workloadChannel: GossipChannel | null = null;
  private readonly listeners: (() => void)[] = [];
  private readonly writer: StateWriter;
  private started = false;
  private stopped = false;
  private readonly now: () => number;

  constructor(private readonly o: MeshPolicySourceOptions) {
    this.now = o.now ?? Date.now;
    this.writer = new StateWriter(o.log, 'policy');
    this.store = new PolicyStore(() => {
      this.persist(POLICY_STORE_FILE, () => this.store.serialize());
      this.changed();
    });
    this.directory = new WorkloadDirectory(o.self, () => this.changed());
  }

  /** Register the `policy` and `workloads` gossip channels with the router. */
  attach(router: { newGossip(name: string, g: Gossiper): GossipChannel }): void {
    this.policyChannel = router.newGossip(POLICY_GOSSIP_CHANNEL, this.store);
    this.workloadChannel = router.newGossip(WORKLOAD_GOSSIP_CHANNEL, this.outbidding(this.directory));
    const ch = this.workloadChannel;
    this.directory.setSender((dst, msg) => {
      try {
        ch.unicast(dst, msg);
      } catch (e) {
        this.o.log.debug({ err: describeError(e), dst }, 'policy: workloads answer not sent (the next gossip round retries)');
      }
    });
  }

  onChange(cb: () => void): void {
    this.listeners.push(cb);
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const storeText = await readFile(join(this.o.dataDir, POLICY_STORE_FILE), 'utf8').catch(() => null);
    if (storeText !== null) {
      try {
        const n = this.store.load(storeText);
        this.o.log.info({ entries: n }, 'policy: store loaded from the data dir');
      } catch (e) {
        this.o.log.warn({ err: describeError(e) }, 'policy: ignoring an unreadable policy store file');
      }
    }
    const seen = await readFile(join(this.o.dataDir, WORKLOADS_FILE)).catch(() => null);
    if (seen) {
      try {
        this.directory.load(seen);
      } catch (e) {
        this.o.log.warn({ err: describeError(e) }, 'policy: ignoring an unreadable workloads file');
      }
    }
    this.localChanged();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.writer.close();
  }

  /** Resolves when every change so far is on disk. */
  flushed(): Promise<void> {
    return this.writer.flushed();
  }

  snapshot(): PolicyInput {
    const { policies, namespaces } = this.store.snapshot();
    return { policies, namespaces, pods: this.directory.pods() };
  }

  /** The local pods changed: announce them. */
  localChanged(): void {
    if (!this.started || this.stopped) return;
    const up = this.directory.setLocal(this.o.localPods(), this.now());
    if (up) this.broadcast(this.workloadChannel, up);
  }

  /** The mesh forgot a peer for good: its pods are gone. */
  peerGone(peer: PeerName): void {
    this.directory.forget(peer);
  }

  /** Send a local store change to every peer. */
  broadcastPolicy(update: Buffer | null): void {
    if (update) this.broadcast(this.policyChannel, update);
  }

  private broadcast(ch: GossipChannel | null, msg: Buffer): void {
    try {
      ch?.broadcast(msg);
    } catch (e) {
      this.o.log.debug({ err: describeError(e) }, 'policy: broadcast failed (the next gossip round carries it)');
    }
  }

  private changed(): void {
    if (this.started && !this.stopped) this.persist(WORKLOADS_FILE, () => this.directory.serialize());
    for (const cb of this.listeners) cb();
  }

  /** The directory as the router sees it, re-announcing ours when an earlier incarnation's record outvoted it. */
  private outbidding(d: WorkloadDirectory): Gossiper {
    const after = <T>(v: T): T => {
      const up = d.outbid(this.now());
      if (up) this.broadcast(this.workloadChannel, up);
      return v;
    };
    return {
      onGossipUnicast: (src, msg) => { after(d.onGossipUnicast(src, msg)); },
      onGossipBroadcast: (src, update) => after(d.onGossipBroadcast(src, update)),
      onGossip: (update) => after(d.onGossip(update)),
      gossip: () => d.gossip(),
    };
  }

  private persist(file: string, content: () => string | Buffer): void {
    if (this.started && !this.stopped) this.writer.save(join(this.o.dataDir, file), content);
  }
}
