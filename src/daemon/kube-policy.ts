/**
 * Kubernetes mode's part of the composition root: the policy input source the daemon's policy
 * service reads when `weft launch --kube` or `--kubeconfig FILE` is given. `@kubernetes/client-node`
 * (a large module) is loaded only then.
 */
import type { Logger } from '../common/index.js';
import type { KubePolicySource } from '../kube/index.js';
import type { DaemonConfig } from './config.js';

/**
 * The {@link KubePolicySource} for `config.kube`, or null when not in Kubernetes mode. Reads the
 * kubeconfig (or the in-cluster service account) now and throws WEFT_ERR_KUBE naming the file
 * or setting when it is unusable; it does not contact the API server (the source retries an
 * unreachable one after `start()`, reporting it in `status()`).
 *
 * The caller (the policy service) adds it to the daemon's Lifecycle, subscribes `onChange`
 * and reads `snapshot()` only after the first `onChange` (until then the source is not
 * synced and the previous ruleset stays in force).
 */
export async function buildKubePolicySource(config: DaemonConfig, log: Logger): Promise<KubePolicySource | null> {
  if (!config.kube) return null;
  const kube = await import('../kube/index.js');
  const kubeConfig = kube.loadKubeConfig(config.kube);
  log.info({ access: kube.describeKubeAccess(config.kube), server: kubeConfig.getCurrentCluster()?.server }, 'Kubernetes mode');
  return new kube.KubePolicySource({ kubeConfig, log: log.child({ component: 'kube' }) });
}
