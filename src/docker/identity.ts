/**
 * The policy identity of a Docker container, from its name and labels (pure):
 * - namespace: the label `weft.namespace` (default `default`);
 * - name: the label `weft.name`, else the container's name (without Docker's leading `/`);
 * - labels: every other container label that is a valid Kubernetes label (key and value);
 *   the others are skipped and returned, so the caller can log them.
 */
import { labelsProblem } from '../directory/index.js';

/** Container label naming the pod's namespace. */
export const NAMESPACE_LABEL = 'weft.namespace';
/** Container label overriding the pod's name. */
export const NAME_LABEL = 'weft.name';

/** What a container is known as for network policy and DNS. */
export interface ContainerIdentity {
  namespace?: string;
  name: string;
  labels: Record<string, string>;
}

/** The identity of a container named `name` (`/web-1` or `web-1`) with `labels`; `skipped`: labels that are no valid pod labels. */
export function containerIdentity(name: string, labels: Readonly<Record<string, string>> | null | undefined):
  { identity: ContainerIdentity; skipped: string[] } {
  const all = labels ?? {};
  const out: Record<string, string> = {};
  const skipped: string[] = [];
  for (const [k, v] of Object.entries(all)) {
    if (k === NAMESPACE_LABEL || k === NAME_LABEL) continue;
    if (typeof v !== 'string' || labelsProblem({ [k]: v })) skipped.push(k);
    else out[k] = v;
  }
  const ns = all[NAMESPACE_LABEL];
  const identity: ContainerIdentity = { name: all[NAME_LABEL] ?? name.replace(/^\/+/, ''), labels: out };
  if (ns !== undefined) identity.namespace = ns;
  return { identity, skipped: skipped.sort() };
}
