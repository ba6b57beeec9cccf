/**
 * NameTable: what the weft domain answers, derived (never replicated on its own) from the two
 * gossiped sources: every workload in the WorkloadDirectory with its pod name (`weft attach
 * --name`, a CNI pod's K8S_POD_NAME, a Docker container's name) and the live manual records of
 * the DnsRecordStore. One name may carry several addresses (pods of the same name on several
 * hosts, several dns-add addresses); they are answered together. Pure: rebuilt from its inputs.
 */
import { parseIp } from '../net/index.js';
import { dnsNameProblem, normalizeName } from './names.js';

/** A workload as the table reads it (src/policy's PodIdentity fits). */
export interface NamedWorkload {
  readonly name: string;
  readonly ips: readonly string[];
}

/** The addresses of one name, by family, sorted and without duplicates. */
export interface NameAddresses {
  readonly v4: readonly string[];
  readonly v6: readonly string[];
}

/**
 * Guarantees: `lookup` answers a relative, normalised name in O(1); workloads whose name is
 * not a usable DNS name (labels longer than 63, a leading "-", …) are skipped and counted in
 * `skipped`; addresses are de-duplicated across sources.
 */
export class NameTable {
  private readonly names = new Map<string, NameAddresses>();
  /** Workloads left out because their name is not a DNS name. count */
  readonly skipped: number;

  constructor(workloads: Iterable<NamedWorkload>, manual: ReadonlyMap<string, readonly string[]>) {
    const acc = new Map<string, Set<string>>();
    const put = (name: string, ips: Iterable<string>) => {
      let s = acc.get(name);
      if (!s) acc.set(name, (s = new Set()));
      for (const ip of ips) s.add(ip);
    };
    let skipped = 0;
    for (const w of workloads) {
      const n = normalizeName(w.name);
      if (dnsNameProblem(n) !== null) {
        skipped++;
        continue;
      }
      put(n, w.ips);
    }
    for (const [name, ips] of manual) put(name, ips);
    for (const [name, set] of acc) {
      const v4: string[] = [];
      const v6: string[] = [];
      for (const ip of set) {
        const a = parseIp(ip);
        if (a?.family === 4) v4.push(ip);
        else if (a?.family === 6) v6.push(ip);
      }
      if (v4.length + v6.length > 0) this.names.set(name, { v4: sortIps(v4), v6: v6.sort() });
    }
    this.skipped = skipped;
  }

  /** The addresses of a relative name, or undefined when the name is unknown. */
  lookup(rel: string): NameAddresses | undefined {
    return this.names.get(normalizeName(rel));
  }

  /** Every name, sorted, with its addresses. */
  entries(): [string, NameAddresses][] {
    return [...this.names].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  get size(): number {
    return this.names.size;
  }
}

function sortIps(ips: string[]): string[] {
  const key = (ip: string) => ip.split('.').map((o) => o.padStart(3, '0')).join('.');
  return ips.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}
