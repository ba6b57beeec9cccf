/** Tests wait on conditions with the lab's waitFor (one implementation for demo, bench, tests). */
export { waitFor, type WaitOptions } from '../../lab/wait.js';
export { startCapture, countPackets, type Capture, type CaptureOptions } from '../../lab/capture.js';
