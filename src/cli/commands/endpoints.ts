import { API_ROUTES } from '../../api/index.js';
import type { Command } from '../command.js';
import { API_SOCKET_OPTION, expectPositionals, parseCommandArgs } from '../args.js';
import { clientFor, SOCKET_HELP } from './control.js';
import { formatTable } from '../format.js';
import { invalid } from '../args.js';
import { UsageError } from '../command.js';
import { parseLabelArg, parsePodPort } from '../../directory/index.js';

/** `--label KEY=VALUE`... as a map; `invalid --label` naming the bad one. */
function labelFlags(list: readonly string[]): Record<string, string> | undefined {
  if (list.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const a of list) {
    const r = parseLabelArg(a, false);
    if (typeof r === 'string') throw invalid('--label', a, r);
    if ('set' in r) out[r.set[0]] = r.set[1];
  }
  return out;
}

/** `--port NAME=PORT/PROTO`... */
function portFlags(list: readonly string[]) {
  if (list.length === 0) return undefined;
  return list.map((a) => {
    const r = parsePodPort(a);
    if (typeof r === 'string') throw invalid('--port', a, r);
    return r;
  });
}

/** `KEY=VALUE` / `KEY-` arguments of weft label. */
export function labelChanges(list: readonly string[]): { set: Record<string, string>; remove: string[] } {
  const set: Record<string, string> = {};
  const remove: string[] = [];
  for (const a of list) {
    const r = parseLabelArg(a, true);
    if (typeof r === 'string') throw invalid('label', a, r);
    if ('set' in r) set[r.set[0]] = r.set[1];
    else remove.push(r.remove);
  }
  return { set, remove };
}


export const attachCommand: Command = {
  name: 'attach',
  summary: 'attach a network namespace (container, pod) to the overlay',
  help: `Usage: weft attach [--ip CIDR] [--ifname NAME] [--namespace NS] [--name NAME]
                   [--label KEY=VALUE]... [--port NAME=PORT/PROTO]... NETNS

Plumb a veth from the weft bridge into NETNS (a name under /run/netns, a path such as
/run/netns/NAME or /proc/PID/ns/net), name it NAME (default ethwe), set the overlay MTU and
give it CIDR — or, without --ip, an address from the distributed IPAM. Prints the address.
The pod's policy identity (namespace, name, labels, named ports) is what network policies
select; attaching again without identity flags keeps the recorded one.

Options:
  --ip CIDR           address for the interface, e.g. 10.32.1.5/12
  --ifname NAME       interface name inside the namespace (default ethwe)
  --namespace NS      policy namespace of the pod (default "default")
  --name NAME         pod name (default: the network namespace's name)
  --label KEY=VALUE   a label of the pod (repeatable)
  --port NAME=PORT/PROTO  a named port policies may refer to, e.g. http=8080/TCP (repeatable)
${SOCKET_HELP}`,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs('attach', args, {
      ...API_SOCKET_OPTION, ip: { type: 'string' }, ifname: { type: 'string' }, namespace: { type: 'string' }, name: { type: 'string' },
      label: { type: 'string', multiple: true }, port: { type: 'string', multiple: true },
    });
    expectPositionals('attach', positionals, 1, 1, 'network namespace');
    const r = await clientFor(ctx, values['api-socket']).call(API_ROUTES.attach, {
      netns: positionals[0]!, ip: values.ip, ifname: values.ifname, namespace: values.namespace, name: values.name,
      labels: labelFlags(values.label ?? []), ports: portFlags(values.port ?? []),
    });
    ctx.out(r.cidr);
    return 0;
  },
};

export const detachCommand: Command = {
  name: 'detach',
  summary: 'detach a network namespace from the overlay',
  help: `Usage: weft detach [--ifname NAME] NETNS\n\nRemove the namespace's weft interface and release its IPAM address.\n\nOptions:\n  --ifname NAME       interface name inside the namespace (default ethwe)\n${SOCKET_HELP}`,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs('detach', args, { ...API_SOCKET_OPTION, ifname: { type: 'string' } });
    expectPositionals('detach', positionals, 1, 1, 'network namespace');
    const r = await clientFor(ctx, values['api-socket']).call(API_ROUTES.detach,
      { netns: positionals[0]!, ifname: values.ifname });
    ctx.out(r.detached ? `detached ${positionals[0]}${r.released.length ? ` (released ${r.released.join(', ')})` : ''}` : `${positionals[0]} was not attached`);
    return 0;
  },
};

export const exposeCommand: Command = {
  name: 'expose',
  summary: 'give this host an address on the overlay',
  help: `Usage: weft expose [CIDR]\n\nPut CIDR (or an address from IPAM) on the weft bridge so the host itself reaches pods.\n\nOptions:\n${SOCKET_HELP}`,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs('expose', args, API_SOCKET_OPTION);
    expectPositionals('expose', positionals, 0, 1, 'CIDR');
    const r = await clientFor(ctx, values['api-socket']).call(API_ROUTES.expose, { cidr: positionals[0] });
    ctx.out(r.cidr);
    return 0;
  },
};

export const hideCommand: Command = {
  name: 'hide',
  summary: 'remove this host\'s address from the overlay',
  help: `Usage: weft hide [CIDR]\n\nRemove CIDR (default: every exposed address) from the weft bridge.\n\nOptions:\n${SOCKET_HELP}`,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs('hide', args, API_SOCKET_OPTION);
    expectPositionals('hide', positionals, 0, 1, 'CIDR');
    const r = await clientFor(ctx, values['api-socket']).call(API_ROUTES.hide, { cidr: positionals[0] });
    ctx.out(r.hidden.length ? `hidden ${r.hidden.join(', ')}` : 'nothing was exposed');
    return 0;
  },
};

export const psCommand: Command = {
  name: 'ps',
  summary: 'list attached endpoints with MAC and IP',
  help: `Usage: weft ps [--json]\n\nList the namespaces attached to the weft bridge.\n\nOptions:\n  --json              print JSON\n${SOCKET_HELP}`,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs('ps', args, { ...API_SOCKET_OPTION, json: { type: 'boolean' } });
    expectPositionals('ps', positionals, 0, 0, '');
    const r = await clientFor(ctx, values['api-socket']).call(API_ROUTES.endpoints);
    if (values.json) {
      ctx.out(JSON.stringify(r.endpoints, null, 2));
      return 0;
    }
    ctx.out(formatTable([['NETNS', 'IFNAME', 'MAC', 'ADDRESSES', 'HOST IF', 'POD', 'LABELS'],
      ...r.endpoints.map((e) => [e.netns, e.ifname, e.mac, e.addresses.join(',') || '-', e.hostIfname,
        e.pod ? `${e.pod.namespace}/${e.pod.name}` : '-',
        e.pod && Object.keys(e.pod.labels).length > 0 ? Object.entries(e.pod.labels).map(([k, v]) => `${k}=${v}`).join(',') : '-'])]));
    return 0;
  },
};

export const labelCommand: Command = {
  name: 'label',
  summary: 'change the labels of an attached pod (policy follows at once)',
  help: `Usage: weft label [--ifname NAME] NETNS KEY=VALUE... KEY-...

Set (KEY=VALUE) and remove (KEY-) labels of the pod attached to NETNS, like kubectl label;
network policy on every host follows the change. Prints the pod and its labels.

Options:
  --ifname NAME       interface name inside the namespace (default ethwe)
${SOCKET_HELP}`,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs('label', args, { ...API_SOCKET_OPTION, ifname: { type: 'string' } });
    if (positionals.length < 2) throw new UsageError(`missing ${positionals.length === 0 ? 'network namespace' : 'label change (KEY=VALUE or KEY-)'} (see weft label --help)`);
    const { set, remove } = labelChanges(positionals.slice(1));
    const r = await clientFor(ctx, values['api-socket']).call(API_ROUTES.label, { netns: positionals[0]!, ifname: values.ifname, set, remove });
    const labels = Object.entries(r.labels).map(([k, v]) => `${k}=${v}`).join(',') || '(no labels)';
    ctx.out(`${r.namespace}/${r.name} ${labels}`);
    return 0;
  },
};
