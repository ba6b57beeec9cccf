import { readFile } from 'node:fs/promises';
import { POLICY_MAX_TEXT_BYTES, WeftError } from '../../common/index.js';
import { API_ROUTES, type PolicyListReply } from '../../api/index.js';
import type { CliContext, Command } from '../command.js';
import { UsageError } from '../command.js';
import { API_SOCKET_OPTION, absolutePath, expectPositionals, invalid, parseCommandArgs } from '../args.js';
import { formatTable } from '../format.js';
import { SOCKET_HELP, clientFor } from './control.js';

const HELP = `Usage: weft policy apply -f FILE|-
       weft policy delete NS/NAME... | -f FILE|-
       weft policy list [--json]
       weft policy explain SRC DST PORT[/PROTO]

Network policy in mesh mode: Kubernetes NetworkPolicy (networking.k8s.io/v1) and Namespace
documents, applied on any host and spread to every host by the mesh; each host enforces them
for its own pods. A file may hold several documents (---) or a List. An apply is all or
nothing: one bad document refuses the whole file, naming the document and field.

  apply -f FILE       apply the documents of FILE (- reads standard input)
  delete NS/NAME...   delete policies by name; -f FILE deletes every object the file names
  list                every policy in force: NAMESPACE NAME TYPES AUDIT ORIGIN AGE
  explain SRC DST P   which policy and rule decide a connection from SRC to DST on port P
                      (SRC, DST: NS/NAME of a pod or an IP address; P: 80, 80/TCP, 53/UDP)

Options:
  -f, --filename FILE documents to apply or delete (- for standard input)
  --json              list: print JSON
${SOCKET_HELP}`;

async function readDocuments(ctx: CliContext, file: string): Promise<{ text: string; source: string }> {
  let text: string;
  if (file === '-') {
    text = ctx.readStdin ? await ctx.readStdin() : await readProcessStdin();
  } else {
    try {
      text = await readFile(absolutePath(ctx, file), 'utf8');
    } catch (e) {
      throw new WeftError('WEFT_ERR_BAD_ARGS', `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
  }
  if (Buffer.byteLength(text) > POLICY_MAX_TEXT_BYTES) throw invalid('-f', file, `larger than ${POLICY_MAX_TEXT_BYTES} bytes`);
  if (text.trim() === '') throw invalid('-f', file, 'is empty');
  return { text, source: file === '-' ? '<stdin>' : file };
}

async function readProcessStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of process.stdin) {
    const b = c as Buffer;
    size += b.length;
    if (size > POLICY_MAX_TEXT_BYTES) throw invalid('-f', '-', `standard input is larger than ${POLICY_MAX_TEXT_BYTES} bytes`);
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** "5s", "3m", "2h", "4d". */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172_800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

/** The `weft policy list` table. */
export function formatPolicyList(r: PolicyListReply, now: number): string {
  if (r.policies.length === 0) return `no policies (${r.source} mode)`;
  return formatTable([['NAMESPACE', 'NAME', 'TYPES', 'AUDIT', 'ORIGIN', 'AGE'],
    ...r.policies.map((p) => [p.namespace, p.name, p.policyTypes.join(','), p.audit ? 'yes' : 'no',
      p.origin ?? '-', p.stampMs !== undefined ? formatAge(now - p.stampMs) : '-'])]);
}

/** `PORT[/PROTO]` (protocol default TCP). */
export function parsePortProto(text: string): { port: number; protocol: 'TCP' | 'UDP' | 'SCTP' } {
  const m = /^(\d{1,5})(?:\/([A-Za-z]+))?$/.exec(text);
  const port = m ? Number(m[1]) : NaN;
  if (!m || !(port >= 1 && port <= 65535)) throw invalid('port', text, 'expected PORT or PORT/PROTO with PORT 1-65535, e.g. 80/TCP');
  const protocol = (m[2] ?? 'TCP').toUpperCase();
  if (protocol !== 'TCP' && protocol !== 'UDP' && protocol !== 'SCTP') throw invalid('port', text, 'protocol must be TCP, UDP or SCTP');
  return { port, protocol };
}

const OPTIONS = { ...API_SOCKET_OPTION, filename: { type: 'string', short: 'f' }, json: { type: 'boolean' } } as const;

export const policyCommand: Command = {
  name: 'policy',
  summary: 'apply, delete, list and explain network policies (mesh mode)',
  help: HELP,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs('policy', args, OPTIONS);
    const [verb, ...rest] = positionals;
    const client = () => clientFor(ctx, values['api-socket']);
    if (verb !== 'list' && values.json) throw new UsageError('--json is for weft policy list (see weft policy --help)');
    switch (verb) {
      case 'apply': {
        expectPositionals('policy', rest, 0, 0, '');
        if (values.filename === undefined) throw new UsageError('missing -f FILE (or -f - for standard input) (see weft policy --help)');
        const r = await client().call(API_ROUTES.policyApply, await readDocuments(ctx, values.filename));
        for (const k of r.applied) ctx.out(`networkpolicy ${k} applied`);
        for (const k of r.namespaces) ctx.out(`namespace ${k} applied`);
        for (const k of r.unchanged) ctx.out(`${k} unchanged`);
        return 0;
      }
      case 'delete': {
        if (values.filename !== undefined && rest.length > 0) throw new UsageError('give NS/NAME... or -f FILE, not both (see weft policy --help)');
        if (values.filename === undefined && rest.length === 0) throw new UsageError('missing NS/NAME or -f FILE (see weft policy --help)');
        const body = values.filename !== undefined ? await readDocuments(ctx, values.filename) : { refs: rest };
        const r = await client().call(API_ROUTES.policyDelete, body);
        for (const k of r.deleted) ctx.out(`networkpolicy ${k} deleted`);
        for (const k of r.namespaces) ctx.out(`namespace ${k} deleted`);
        for (const k of r.unknown) ctx.err(`weft: ${k} not found`);
        return r.unknown.length > 0 && r.deleted.length === 0 && r.namespaces.length === 0 ? 1 : 0;
      }
      case 'list': {
        expectPositionals('policy', rest, 0, 0, '');
        const r = await client().call(API_ROUTES.policyList);
        ctx.out(values.json ? JSON.stringify(r, null, 2) : formatPolicyList(r, Date.now()));
        return 0;
      }
      case 'explain': {
        expectPositionals('policy', rest, 3, 3, 'SRC DST PORT[/PROTO]');
        const { port, protocol } = parsePortProto(rest[2]!);
        const r = await client().call(API_ROUTES.policyExplain, { src: rest[0]!, dst: rest[1]!, port, protocol });
        ctx.out(r.text);
        return 0;
      }
      case undefined: throw new UsageError('missing subcommand: apply, delete, list or explain (see weft policy --help)');
      default: throw new UsageError(`unknown subcommand "${verb}": apply, delete, list or explain (see weft policy --help)`);
    }
  },
};
