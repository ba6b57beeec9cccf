import { Kind, type TSchema } from '@sinclair/typebox';
import { ROUTES } from './routes.js';

/**
 * docs/api.md, rendered from the route schemas (pure). `npm run docs:api` writes it; a unit
 * test fails when the committed file differs, so a route cannot be added without its docs.
 */

type AnySchema = TSchema & Record<string, unknown>;

/** A TypeScript-like one-line rendering of a schema (`{ netns: string; ifname?: string }`). */
export function renderShape(schema: TSchema): string {
  const s = schema as AnySchema;
  switch (s[Kind]) {
    case 'Object': {
      const props = (s.properties ?? {}) as Record<string, TSchema>;
      const required = new Set((s.required ?? []) as string[]);
      const fields = Object.entries(props).map(([k, v]) => `${k}${required.has(k) ? '' : '?'}: ${renderShape(v)}`);
      return fields.length ? `{ ${fields.join('; ')} }` : '{}';
    }
    case 'Array': return `${wrap(renderShape(s.items as TSchema))}[]`;
    case 'String': return 'string';
    case 'Integer': return 'integer';
    case 'Number': return 'number';
    case 'Boolean': return 'boolean';
    case 'Null': return 'null';
    case 'Undefined': return 'undefined';
    case 'Unknown': return 'unknown';
    case 'Literal': return JSON.stringify(s.const);
    case 'Union': return (s.anyOf as TSchema[]).map(renderShape).join(' | ');
    case 'Intersect': return (s.allOf as TSchema[]).map(renderShape).join(' & ');
    case 'Record': {
      const [value] = Object.values(s.patternProperties as Record<string, TSchema>);
      return `Record<string, ${renderShape(value!)}>`;
    }
    default: return String(s[Kind] ?? 'unknown');
  }
}

function wrap(t: string): string {
  return t.includes(' | ') ? `(${t})` : t;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

/** The whole of docs/api.md. */
export function renderApiDoc(): string {
  const routes = Object.values(ROUTES);
  const lines = [
    '# weft control API',
    '',
    '<!-- Generated from src/api/routes.ts by `npm run docs:api`; do not edit by hand. -->',
    '',
    'HTTP/1.1 with JSON bodies over the daemon\'s unix socket (mode 0600; default `/run/weft/weft.sock`).',
    'POST routes take their request as a JSON object body; GET routes take it as query parameters.',
    'Every request is checked against its route\'s schema before the handler runs; unknown fields are refused.',
    '',
    'Errors: `{ "error": { "code", "message" } }` with a stable `WEFT_ERR_*` code and a one-line message:',
    '',
    '| Condition | HTTP | Code |',
    '|---|---|---|',
    '| request fails its schema (message names the field) | 400 | `WEFT_ERR_BAD_ARGS` |',
    '| body is not a JSON object | 400 | `WEFT_ERR_BAD_ARGS` |',
    '| body over the size cap | 413 | `WEFT_ERR_TOO_BIG` |',
    '| no such route (path), or wrong method (405, with `Allow`) | 404 / 405 | `WEFT_ERR_NO_API_ROUTE` |',
    '| named object (owner, endpoint) does not exist | 404 | `WEFT_ERR_NOT_FOUND` |',
    '| IPAM not ready | 503 | `WEFT_ERR_IPAM_NOT_READY` |',
    '',
    'Refused requests are counted in `weft_bad_input_total{source="api",reason}` and logged.',
    '',
    '## Routes',
    '',
    '| Method | Path | Name | What |',
    '|---|---|---|---|',
    ...routes.map((r) => `| ${r.method} | \`${r.path}\` | ${r.name} | ${cell(r.summary)} |`),
    '',
  ];
  for (const r of routes) {
    lines.push(`### ${r.method} ${r.path}`, '', r.summary, '',
      `- request (${r.method === 'GET' ? 'query' : 'body'}): \`${renderShape(r.request)}\``,
      `- reply: \`${renderShape(r.reply)}\``, '');
  }
  return lines.join('\n');
}
