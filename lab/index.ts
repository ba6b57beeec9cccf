/**
 * A local multi-host lab: "hosts" are network namespaces on one underlay bridge, each running
 * a real weft daemon. Used by `npm run demo` and the integration tests. Root only.
 */
export { Lab, sh, isRoot, FAST_TIMING, REPO, WEFT, type LabHost, type LabHosts, type LaunchOptions } from './lab.js';
