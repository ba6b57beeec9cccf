/**
 * HostPlumbing: the bridge, the sleeve TAP, container endpoints and exposed host addresses.
 */
import { HOST_TAP_TXQUEUELEN, WeftError, type Logger } from '../common/index.js';
import {
  attachEndpoint, detachEndpoint, listEndpoints, txOff, type AttachedEndpoint, type ListedEndpoint,
} from './endpoints.js';
import { check, execRunner, parseIpJson, type CommandRunner } from './exec.js';
import { checkCidr, isValidIfname } from './netns.js';

export interface HostPlumbingOptions {
  /** Bridge name (e.g. "weft"). */
  bridge: string;
  log: Logger;
  /** Command runner (tests inject a fake); default: execFile with HOST_EXEC_TIMEOUT_MS. */
  run?: CommandRunner;
}

interface IpLinkDetail { ifname: string; linkinfo?: { info_kind?: string } }

/**
 * The kernel edge of one weft bridge. Stateless (everything lives in the kernel, so a
 * restarted daemon sees what the previous one created); not Startable. Every method is
 * idempotent where the operation allows it and throws WeftError('WEFT_ERR_HOST',
 * "<what> failed: <stderr first line>") when a command fails, WEFT_ERR_BAD_ARGS for bad input.
 */
export class HostPlumbing {
  readonly bridge: string;
  private readonly run: CommandRunner;
  private readonly log: Logger;

  constructor(o: HostPlumbingOptions) {
    if (!isValidIfname(o.bridge)) throw new WeftError('WEFT_ERR_BAD_ARGS', `invalid bridge name "${o.bridge}"`);
    this.bridge = o.bridge;
    this.run = o.run ?? execRunner();
    this.log = o.log;
  }

  /** Create the bridge if missing, set its MTU, TX checksum offload off, ARP tuning, up. */
  async setupBridge(mtu: number): Promise<void> {
    const b = this.bridge;
    const kind = await this.linkKind(b);
    if (kind === null) {
      const r = await this.run('ip', ['link', 'add', 'name', b, 'type', 'bridge']);
      if (r.code !== 0 && !/file exists/i.test(r.stderr)) check(`creating bridge ${b}`, r);
    } else if (kind !== 'bridge') {
      throw new WeftError('WEFT_ERR_HOST', `creating bridge ${b} failed: a ${kind || 'non-bridge'} link with that name exists`);
    }
    check(`setting MTU ${mtu} on ${b}`, await this.run('ip', ['link', 'set', 'dev', b, 'mtu', String(mtu), 'up']));
    await txOff(this.run, this.log, b);
    // Best effort (IPv6 may be disabled): no router advertisements; relearn moved MACs quickly.
    for (const kv of [`net.ipv6.conf.${b}.accept_ra=0`, `net.ipv4.neigh.${b}.base_reachable_time_ms=5000`,
      `net.ipv4.neigh.${b}.delay_first_probe_time=2`, `net.ipv4.neigh.${b}.ucast_solicit=1`]) {
      await this.run('sysctl', ['-q', '-w', kv]);
    }
  }

  /** Create the TAP if missing (persistent, no packet info), attach it to the bridge, up. */
  async setupTap(name: string, mtu: number): Promise<void> {
    if (!isValidIfname(name)) throw new WeftError('WEFT_ERR_BAD_ARGS', `invalid TAP name "${name}"`);
    const kind = await this.linkKind(name);
    if (kind === null) {
      check(`creating TAP ${name}`, await this.run('ip', ['tuntap', 'add', 'dev', name, 'mode', 'tap']));
    } else if (kind !== 'tun') {
      throw new WeftError('WEFT_ERR_HOST', `creating TAP ${name} failed: a ${kind || 'non-TAP'} link with that name exists`);
    }
    check(`attaching TAP ${name} to ${this.bridge}`, await this.run('ip', ['link', 'set', 'dev', name, 'master', this.bridge,
      'mtu', String(mtu), 'txqueuelen', String(HOST_TAP_TXQUEUELEN), 'up']));
    await txOff(this.run, this.log, name);
  }

  /** Attach a namespace to the bridge (see AttachOptions). */
  attach(o: { netns: string; ifname?: string; cidr?: string; mtu: number; txOff?: boolean }): Promise<AttachedEndpoint> {
    return attachEndpoint(this.run, this.log, { ...o, bridge: this.bridge });
  }

  /** Remove a namespace's endpoint; false if it was not attached. */
  detach(netns: string, ifname?: string): Promise<boolean> {
    return detachEndpoint(this.run, this.log, netns, ifname);
  }

  /** Endpoints on the bridge (for `weft ps`). */
  listAttached(): Promise<ListedEndpoint[]> {
    return listEndpoints(this.run, this.bridge);
  }

  /** Put `cidr` on the bridge so the host itself is on the overlay. Idempotent. */
  async expose(cidr: string): Promise<void> {
    const r = await this.run('ip', ['addr', 'add', checkCidr(cidr), 'dev', this.bridge]);
    if (r.code !== 0 && !/already assigned|file exists/i.test(r.stderr)) check(`exposing ${cidr} on ${this.bridge}`, r);
  }

  /** Remove `cidr` from the bridge; false if it was not there. */
  async hide(cidr: string): Promise<boolean> {
    const r = await this.run('ip', ['addr', 'del', checkCidr(cidr), 'dev', this.bridge]);
    if (r.code === 0) return true;
    if (/not found|cannot assign/i.test(r.stderr)) return false;
    check(`hiding ${cidr} from ${this.bridge}`, r);
    return false;
  }

  /** Addresses currently exposed on the bridge ("10.32.0.1/12"). */
  async exposed(): Promise<string[]> {
    const out = check(`reading addresses of ${this.bridge}`, await this.run('ip', ['-j', 'addr', 'show', 'dev', this.bridge]));
    const rows = parseIpJson<{ addr_info?: { local: string; prefixlen: number; scope?: string }[] }>('reading addresses', out);
    return (rows[0]?.addr_info ?? []).filter((a) => a.scope !== 'link').map((a) => `${a.local}/${a.prefixlen}`);
  }

  /** Delete the TAP (if given) and the bridge (for `weft reset` and tests). Missing links are fine. */
  async teardown(tapName?: string): Promise<void> {
    for (const dev of tapName ? [tapName, this.bridge] : [this.bridge]) {
      const r = await this.run('ip', ['link', 'del', 'dev', dev]);
      if (r.code !== 0 && !/cannot find device|does not exist/i.test(r.stderr)) check(`deleting ${dev}`, r);
    }
  }

  /** '' for a link without a kind, null if it does not exist. */
  private async linkKind(name: string): Promise<string | null> {
    const r = await this.run('ip', ['-j', '-d', 'link', 'show', 'dev', name]);
    if (r.code !== 0) return null;
    return parseIpJson<IpLinkDetail>(`reading link ${name}`, r.stdout)[0]?.linkinfo?.info_kind ?? '';
  }
}
