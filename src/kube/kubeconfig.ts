/**
 * Where Kubernetes mode finds its API server: in-cluster (the pod's service account, as
 * `weft launch --kube` in the DaemonSet) or a kubeconfig file (`--kubeconfig FILE`). Loading
 * reads the files once and names the problem when they are unusable; it does not contact the
 * server (an unreachable server is retried by the source, not refused here).
 */
import { accessSync, constants as fsConstants } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { WeftError, describeError } from '../common/index.js';

/** How to reach the API server. Part of the daemon's config (`DaemonConfig.kube`). */
export type KubeAccess =
  | { readonly mode: 'in-cluster' }
  | { readonly mode: 'kubeconfig'; readonly file: string };

/** One line naming the access mode, for logs and status. */
export function describeKubeAccess(a: KubeAccess): string {
  return a.mode === 'in-cluster' ? 'in-cluster service account' : `kubeconfig ${a.file}`;
}

function readable(path: string, what: string, where: string): void {
  try {
    accessSync(path, fsConstants.R_OK);
  } catch (e) {
    throw new WeftError('WEFT_ERR_KUBE', `${where}: cannot read the ${what} ${path}: ${describeError(e)}`);
  }
}

/**
 * Builds the client configuration. Throws WEFT_ERR_KUBE naming the file or setting at fault:
 * an unreadable or malformed kubeconfig, one without a current context and cluster, a
 * certificate or key file it names that cannot be read; in-cluster, a missing
 * KUBERNETES_SERVICE_HOST/PORT (not running in a pod) or an unreadable service-account token
 * or CA certificate.
 */
export function loadKubeConfig(access: KubeAccess): KubeConfig {
  const kc = new KubeConfig();
  const where = access.mode === 'in-cluster' ? '--kube (in-cluster)' : `--kubeconfig ${access.file}`;
  if (access.mode === 'kubeconfig') {
    readable(access.file, 'kubeconfig', where);
    try {
      kc.loadFromFile(access.file);
    } catch (e) {
      throw new WeftError('WEFT_ERR_KUBE', `${where}: not a valid kubeconfig: ${describeError(e).split('\n')[0]}`);
    }
  } else {
    // The library reads KUBERNETES_SERVICE_HOST/PORT itself; an unset pair shows as "undefined".
    kc.loadFromCluster();
    const server = kc.getCurrentCluster()?.server ?? '';
    if (server.includes('undefined')) {
      throw new WeftError('WEFT_ERR_KUBE',
        `${where}: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set (not running in a pod?); use --kubeconfig FILE outside a cluster`);
    }
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new WeftError('WEFT_ERR_KUBE', `${where}: no current context with a cluster (set current-context)`);
  if (!/^https?:\/\/./.test(cluster.server)) throw new WeftError('WEFT_ERR_KUBE', `${where}: cluster ${cluster.name} has no usable server URL ("${cluster.server}")`);
  if (cluster.caFile) readable(cluster.caFile, 'CA certificate', where);
  const user = kc.getCurrentUser();
  if (user?.certFile) readable(user.certFile, 'client certificate', where);
  if (user?.keyFile) readable(user.keyFile, 'client key', where);
  const tokenFile = (user?.authProvider as { config?: { tokenFile?: unknown } } | undefined)?.config?.tokenFile;
  if (typeof tokenFile === 'string') readable(tokenFile, 'service-account token', where);
  return kc;
}
