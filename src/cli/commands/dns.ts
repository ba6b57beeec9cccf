import { API_ROUTES } from '../../api/index.js';
import { DNS_MAX_ADDRESSES_PER_CALL } from '../../common/index.js';
import type { Command } from '../command.js';
import { API_SOCKET_OPTION, expectPositionals, parseCommandArgs } from '../args.js';
import { clientFor, SOCKET_HELP } from './control.js';

const DNS_DOC = 'Names are relative to the weft domain (db) or under it (db.weft.local); see docs/dns.md.';

export const dnsAddCommand: Command = {
  name: 'dns-add',
  summary: 'add addresses to a name of the weft domain (every host answers it)',
  help: `Usage: weft dns-add NAME IP...

Add a manual record: NAME.weft.local answers these addresses on every host, alongside the
addresses of workloads of that name. Gossiped to every host, kept across restarts; removed
with weft dns-remove. ${DNS_DOC}

Options:
${SOCKET_HELP}`,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs('dns-add', args, API_SOCKET_OPTION);
    expectPositionals('dns-add', positionals, 2, 1 + DNS_MAX_ADDRESSES_PER_CALL, 'NAME and at least one IP address');
    const r = await clientFor(ctx, values['api-socket']).call(API_ROUTES.dnsAdd, { name: positionals[0]!, ips: positionals.slice(1) });
    ctx.out(r.added.length > 0 ? `${r.name}: added ${r.added.join(' ')}` : `${r.name}: already had ${r.unchanged.join(' ')}`);
    return 0;
  },
};

export const dnsRemoveCommand: Command = {
  name: 'dns-remove',
  summary: 'remove addresses (default: all) of a manual DNS record',
  help: `Usage: weft dns-remove NAME [IP...]

Remove these addresses (without IP: every address) that weft dns-add gave NAME, on every host.
The names of attached workloads go when the workload is detached. ${DNS_DOC}

Options:
${SOCKET_HELP}`,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs('dns-remove', args, API_SOCKET_OPTION);
    expectPositionals('dns-remove', positionals, 1, 1 + DNS_MAX_ADDRESSES_PER_CALL, 'NAME');
    const ips = positionals.slice(1);
    const r = await clientFor(ctx, values['api-socket']).call(API_ROUTES.dnsRemove, { name: positionals[0]!, ...(ips.length > 0 ? { ips } : {}) });
    if (r.removed.length > 0) ctx.out(`${r.name}: removed ${r.removed.join(' ')}`);
    else ctx.out(`${r.name}: no manual record${ips.length > 0 ? ` with ${ips.join(' ')}` : ''}`);
    return 0;
  },
};

export const dnsLookupCommand: Command = {
  name: 'dns-lookup',
  summary: 'print the addresses the weft domain answers for a name',
  help: `Usage: weft dns-lookup NAME

Print the addresses this host's DNS server answers for NAME, one per line (exit 1 for an
unknown name). ${DNS_DOC}

Options:
${SOCKET_HELP}`,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs('dns-lookup', args, API_SOCKET_OPTION);
    expectPositionals('dns-lookup', positionals, 1, 1, 'NAME');
    const r = await clientFor(ctx, values['api-socket']).call(API_ROUTES.dnsLookup, { name: positionals[0]! });
    for (const a of r.addresses) ctx.out(a);
    return 0;
  },
};

export const dnsArgsCommand: Command = {
  name: 'dns-args',
  summary: 'print the --dns and --dns-search arguments for docker run',
  help: `Usage: weft dns-args

Print "--dns ADDR --dns-search DOMAIN" for docker run (or podman run): ADDR is this host's DNS
server, on the host's overlay address (give it one with weft expose first).

Options:
${SOCKET_HELP}`,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs('dns-args', args, API_SOCKET_OPTION);
    expectPositionals('dns-args', positionals, 0, 0, '');
    const r = await clientFor(ctx, values['api-socket']).call(API_ROUTES.dnsArgs);
    ctx.out(r.args.join(' '));
    return 0;
  },
};
