/**
 * The namespace lab: "hosts" are network namespaces on one underlay bridge, each running a real
 * weft daemon; pods, bridges and helper processes as needed. The one lab used by `npm run demo`,
 * the bench (bench/sandbox.ts) and the tests (test/support). Root only.
 */
export { Lab, sh, isRoot, FAST_TIMING, REPO, WEFT, type LabHost, type LabHosts, type LabOptions, type LaunchOptions } from './lab.js';
export { waitFor, type WaitOptions } from './wait.js';
export { startCapture, countPackets, type Capture, type CaptureOptions } from './capture.js';
