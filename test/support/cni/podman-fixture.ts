/**
 * Test fixture: the CNI calls rootful podman 4.3.1 really made, recorded into the repository
 * (test/fixtures/cni/podman-4.3.1.jsonl) by record-runtime.ts with the spy-plugin.ts shim.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** One recorded call: env, exit code, stdin and stdout. */
export interface PodmanCall {
  CNI_COMMAND: string;
  CNI_CONTAINERID: string;
  CNI_NETNS: string;
  CNI_IFNAME: string;
  CNI_ARGS: string;
  CNI_PATH: string;
  rc: number;
  stdin: Record<string, unknown>;
  stdout: unknown;
}

export const PODMAN_FIXTURE = fileURLToPath(new URL('../../../../test/fixtures/cni/podman-4.3.1.jsonl', import.meta.url));

/** The CNI calls containerd 1.6.20's `ctr run --cni --rm` really made, recorded the same way. */
export const CTR_FIXTURE = fileURLToPath(new URL('../../../../test/fixtures/cni/ctr-1.6.20.jsonl', import.meta.url));

function recorded(file: string, runtime: string): PodmanCall[] {
  if (!existsSync(file)) throw new Error(`CNI fixture ${file} is missing (it is committed; re-record: sudo node dist/test/support/cni/record-runtime.js ${runtime} ${file})`);
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as PodmanCall);
}

/** Every recorded podman call; throws when the fixture is missing (it is part of the repository). */
export function podmanCalls(): PodmanCall[] {
  return recorded(PODMAN_FIXTURE, 'podman');
}

/** Every recorded ctr call (same format); throws when the fixture is missing. */
export function ctrCalls(): PodmanCall[] {
  return recorded(CTR_FIXTURE, 'ctr');
}

/** The env of a recorded call, CNI_PATH replaced (the recording's scratch dirs are gone). */
export function envOf(c: PodmanCall, over: Partial<Record<string, string>> = {}): Record<string, string> {
  const env: Record<string, string> = {
    CNI_COMMAND: c.CNI_COMMAND, CNI_CONTAINERID: c.CNI_CONTAINERID, CNI_NETNS: c.CNI_NETNS,
    CNI_IFNAME: c.CNI_IFNAME, CNI_ARGS: c.CNI_ARGS, CNI_PATH: '/usr/lib/cni',
  };
  for (const [k, v] of Object.entries(over)) if (v !== undefined) env[k] = v;
  return env;
}
