import { API_ROUTES } from '../../api/index.js';
import type { Command } from '../command.js';
import { API_SOCKET_OPTION, expectPositionals, parseCommandArgs } from '../args.js';
import { clientFor, SOCKET_HELP } from './control.js';
import { formatTable } from '../format.js';


export const attachCommand: Command = {
  name: 'attach',
  summary: 'attach a network namespace (container, pod) to the overlay',
  help: `Usage: weft attach [--ip CIDR] [--ifname NAME] NETNS

Plumb a veth from the weft bridge into NETNS (a name under /run/netns, a path such as
/run/netns/NAME or /proc/PID/ns/net), name it NAME (default ethwe), set the overlay MTU and
give it CIDR — or, without --ip, an address from the distributed IPAM. Prints the address.

Options:
  --ip CIDR           address for the interface, e.g. 10.32.1.5/12
  --ifname NAME       interface name inside the namespace (default ethwe)
${SOCKET_HELP}`,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs('attach', args, { ...API_SOCKET_OPTION, ip: { type: 'string' }, ifname: { type: 'string' } });
    expectPositionals('attach', positionals, 1, 1, 'network namespace');
    const r = await clientFor(ctx, values['api-socket']).call(API_ROUTES.attach,
      { netns: positionals[0]!, ip: values.ip, ifname: values.ifname });
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
    ctx.out(formatTable([['NETNS', 'IFNAME', 'MAC', 'ADDRESSES', 'HOST IF'],
      ...r.endpoints.map((e) => [e.netns, e.ifname, e.mac, e.addresses.join(',') || '-', e.hostIfname])]));
    return 0;
  },
};
