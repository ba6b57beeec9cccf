import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import type { TSchema } from '@sinclair/typebox';
import { WeftError } from '../common/index.js';
import { ROUTES } from './routes.js';
import type { RouteName } from './route-table.js';

/**
 * Request validation against the route schemas (loaded by the API server on start, never by
 * clients). Each route's schema is compiled once, on first use.
 */
const compiled = new Map<RouteName, TypeCheck<TSchema>>();

function checker(name: RouteName): TypeCheck<TSchema> {
  let c = compiled.get(name);
  if (!c) {
    c = TypeCompiler.Compile(ROUTES[name].request);
    compiled.set(name, c);
  }
  return c;
}

/** `/peers/0` → `peers[0]`; '' → the body itself. */
function fieldName(pointer: string): string {
  const parts = pointer.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  return parts.reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
}

/**
 * The request of route `name` as checked, or throws WEFT_ERR_BAD_ARGS with one line naming
 * the first bad field: `bad request to POST /attach: field "netns": Expected string`.
 */
export function checkRequest(name: RouteName, value: unknown): void {
  const c = checker(name);
  if (c.Check(value)) return;
  const first = c.Errors(value).First();
  const route = ROUTES[name];
  const where = `bad request to ${route.method} ${route.path}`;
  if (!first) throw new WeftError('WEFT_ERR_BAD_ARGS', `${where}: does not match its schema`);
  // An unknown property is reported at its own path ("Unexpected property"), so it is named too.
  const field = fieldName(first.path);
  const message = first.message;
  throw new WeftError('WEFT_ERR_BAD_ARGS', `${where}: ${field ? `field "${field}": ` : ''}${message}`.replace(/[\r\n]+/g, ' '));
}
