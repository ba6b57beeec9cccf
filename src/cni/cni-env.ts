/**
 * The CNI_* environment variables of one plugin invocation, validated per verb (spec 1.1.0,
 * section 2). Pure: takes the environment as a record.
 */
import { CniError } from './cni-error.js';

export const CNI_COMMANDS = ['ADD', 'DEL', 'CHECK', 'STATUS', 'GC', 'VERSION'] as const;
export type CniCommand = (typeof CNI_COMMANDS)[number];

/** One invocation's parameters. Empty strings where the variable was not set. */
export interface CniEnv {
  command: CniCommand;
  containerId: string;
  /** Namespace path; may be "" on DEL (the runtime already removed the namespace). */
  netns: string;
  ifname: string;
  /** CNI_ARGS as given ("K=V;K2=V2"); unused by weft but passed to delegated plugins. */
  args: string;
  /** CNI_PATH split on ':' (empty entries dropped). */
  path: string[];
}

/** Which variables each verb requires (CNI_COMMAND always). */
const REQUIRED: Record<CniCommand, readonly string[]> = {
  ADD: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'],
  CHECK: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'],
  DEL: ['CNI_CONTAINERID', 'CNI_IFNAME'],
  GC: ['CNI_PATH'],
  STATUS: [],
  VERSION: [],
};

const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** Longest Linux interface name. chars */
const IFNAME_MAX = 15;

/** A valid Linux interface name per the spec: 1–15 chars, not "." / "..", no '/', ':' or whitespace. */
export function isValidIfname(name: string): boolean {
  return name.length > 0 && name.length <= IFNAME_MAX && name !== '.' && name !== '..' && !/[/:\s]/.test(name);
}

/**
 * Parse and validate. Errors are code 4 and name the variable: CNI_COMMAND missing or unknown,
 * a variable the verb needs that is unset, a malformed CNI_CONTAINERID or CNI_IFNAME.
 */
export function parseCniEnv(env: Record<string, string | undefined>): CniEnv {
  const command = env.CNI_COMMAND ?? '';
  if (command === '') {
    throw new CniError(4, `CNI_COMMAND is not set (want one of ${CNI_COMMANDS.join(', ')}); this program is a CNI plugin run by a container runtime`);
  }
  if (!(CNI_COMMANDS as readonly string[]).includes(command)) {
    throw new CniError(4, `unknown CNI_COMMAND "${command}" (want one of ${CNI_COMMANDS.join(', ')})`);
  }
  const cmd = command as CniCommand;
  const missing = REQUIRED[cmd].filter((k) => !env[k]);
  if (missing.length > 0) {
    throw new CniError(4, `required environment variable${missing.length > 1 ? 's' : ''} ${missing.join(', ')} not set for ${cmd}`);
  }
  const containerId = env.CNI_CONTAINERID ?? '';
  const ifname = env.CNI_IFNAME ?? '';
  if (REQUIRED[cmd].includes('CNI_CONTAINERID') && !CONTAINER_ID.test(containerId)) {
    throw new CniError(4, `CNI_CONTAINERID "${containerId}" is invalid: it must start with a letter or digit and contain only letters, digits, "_", "." and "-"`);
  }
  if (REQUIRED[cmd].includes('CNI_IFNAME') && !isValidIfname(ifname)) {
    throw new CniError(4, `CNI_IFNAME "${ifname}" is not a valid interface name (1-${IFNAME_MAX} characters, not "." or "..", no "/", ":" or whitespace)`);
  }
  const netns = env.CNI_NETNS ?? '';
  if (netns !== '' && (cmd === 'ADD' || cmd === 'CHECK' || cmd === 'DEL') && !netns.startsWith('/')) {
    throw new CniError(4, `CNI_NETNS "${netns}" must be an absolute path to a network namespace (e.g. /run/netns/NAME or /proc/PID/ns/net)`);
  }
  return {
    command: cmd,
    containerId,
    netns,
    ifname,
    args: env.CNI_ARGS ?? '',
    path: (env.CNI_PATH ?? '').split(':').filter((p) => p !== ''),
  };
}

/**
 * CNI_ARGS (`K=V;K2=V2`, spec section 3) as a map; entries without '=' are ignored, the last of
 * a repeated key wins. Runtimes put the pod's Kubernetes identity here (K8S_POD_NAMESPACE,
 * K8S_POD_NAME).
 */
export function parseCniArgs(args: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of args.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return out;
}
