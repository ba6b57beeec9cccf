import type { ServerResponse } from 'node:http';
import { WeftError } from '../common/index.js';

export type HttpMethod = 'GET' | 'POST' | 'DELETE';
export const HTTP_METHODS: readonly HttpMethod[] = ['GET', 'POST', 'DELETE'];

/** What a route handler receives. */
export interface RouteRequest {
  /** Parsed JSON object body (`{}` when the request had none; always `{}` for GET). */
  body: unknown;
  query: URLSearchParams;
  /** Values of `:name` segments of the route pattern, URI-decoded. */
  params: Record<string, string>;
  /** Aborted when the client goes away before the reply is sent (long calls should stop). */
  signal: AbortSignal;
  /** The response, for streaming routes only (others return their reply). */
  res?: ServerResponse;
}

/** Returns the JSON reply (`undefined` → 204 No Content) or throws a WeftError. */
export type RouteHandler = (req: RouteRequest) => Promise<unknown> | unknown;

interface Route {
  method: HttpMethod;
  segments: string[];
  /** Pattern with every parameter name erased: two routes with one shape would be ambiguous. */
  shape: string;
  staticCount: number;
  handler: RouteHandler;
}

export type RouteMatch =
  | { kind: 'found'; handler: RouteHandler; params: Record<string, string> }
  | { kind: 'method'; allowed: HttpMethod[] }
  | { kind: 'none' };

function splitPath(path: string): string[] {
  return path.split('/').filter((s) => s !== '');
}

/**
 * Pure path router: patterns like `/ip/:owner/:cidr`, where `:name` matches exactly one
 * non-empty segment. When several patterns match, the one with the most literal segments
 * wins (`/ip/all` beats `/ip/:owner`). Trailing slashes are ignored.
 */
export class Router {
  private readonly routes: Route[] = [];

  add(method: HttpMethod, pattern: string, handler: RouteHandler): void {
    if (!pattern.startsWith('/')) throw new WeftError('WEFT_ERR_INTERNAL', `route pattern must start with "/": ${pattern}`);
    const segments = splitPath(pattern);
    const shape = segments.map((s) => (s.startsWith(':') ? ':' : s)).join('/');
    if (this.routes.some((r) => r.method === method && r.shape === shape)) {
      throw new WeftError('WEFT_ERR_INTERNAL', `route ${method} ${pattern} registered twice`);
    }
    const staticCount = segments.filter((s) => !s.startsWith(':')).length;
    this.routes.push({ method, segments, shape, staticCount, handler });
  }

  /** Throws WEFT_ERR_BAD_ARGS when a path segment is not valid percent-encoding. */
  match(method: string, path: string): RouteMatch {
    const parts = splitPath(path);
    let best: { route: Route; params: Record<string, string> } | undefined;
    const allowed = new Set<HttpMethod>();
    for (const route of this.routes) {
      const params = matchSegments(route.segments, parts);
      if (!params) continue;
      allowed.add(route.method);
      if (route.method !== method) continue;
      if (!best || route.staticCount > best.route.staticCount) best = { route, params };
    }
    if (best) return { kind: 'found', handler: best.route.handler, params: best.params };
    if (allowed.size > 0) return { kind: 'method', allowed: HTTP_METHODS.filter((m) => allowed.has(m)) };
    return { kind: 'none' };
  }
}

function matchSegments(pattern: string[], parts: string[]): Record<string, string> | null {
  if (pattern.length !== parts.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    const v = parts[i]!;
    if (p.startsWith(':')) params[p.slice(1)] = decodeSegment(v);
    else if (p !== v) return null;
  }
  return params;
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new WeftError('WEFT_ERR_BAD_ARGS', `bad percent-encoding in path segment "${s}"`);
  }
}
