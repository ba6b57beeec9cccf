/**
 * Installing the plugins on a host (`weft setup-cni`): weft-net is the compiled front end
 * (build/Release/weft-net, built by `npm ci`), with the Node plugin beside it as weft-net-node
 * (the front end runs it for VERSION corner cases and when the daemon is down); weft-ipam is a
 * shell wrapper that execs node. An example conflist is written unless one exists. Optionally
 * copies the runtime (node, dist/, node_modules/) into a host directory so the wrappers work
 * from a container image (DaemonSet init step with the host's / mounted).
 */
import { chmod, copyFile, cp, mkdir, rename, writeFile, access } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CNI_CONFLIST_FILE } from '../common/index.js';
import { CniError } from './cni-error.js';

/** Where to install and what the conflist says. All paths absolute, as seen by the host. */
export interface InstallCniOptions {
  binDir: string;
  confDir: string;
  /** weft API socket written into the conflist. */
  socket: string;
  /** Network name of the conflist. */
  network: string;
  /** Root of this weft build (holds dist/cmd/weft-net.js, node_modules/, package.json). */
  appRoot: string;
  /**
   * Copy the runtime (node binary, dist/, node_modules/, package.json) here and point the
   * wrappers at the copy. Without it the wrappers run `/usr/bin/env node` on appRoot.
   */
  libDir?: string;
  /** Where the host's / is mounted (e.g. "/host" in a container); prefixed to every write. */
  hostRoot?: string;
  /** The node executable to copy with libDir (default: the running one). */
  nodeBinary?: string;
  /** Install the Node plugin as weft-net instead of the compiled front end (the reference; slower start). */
  nodePlugin?: boolean;
}

/** Where `npm ci` puts the compiled front end, relative to the app root. */
export const CNI_FRONT_END = join('build', 'Release', 'weft-net');

/** What was done, one line per action, for the CLI to print. */
export interface InstallCniReport {
  actions: string[];
}

/** The example conflist: cniVersion 1.0.0 (understood by older runtimes), 1.1.0 offered. */
export function exampleConflist(network: string, socket: string): string {
  return JSON.stringify({
    cniVersion: '1.0.0',
    cniVersions: ['1.0.0', '1.1.0'],
    name: network,
    plugins: [{ type: 'weft-net', socket }],
  }, null, 2) + '\n';
}

/** The wrapper script for one plugin. */
export function wrapperScript(node: string, script: string): string {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  return `#!/bin/sh\n# Installed by weft setup-cni.\nexec ${node} ${q(script)} "$@"\n`;
}

async function writeAtomic(path: string, text: string, mode: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, text, { mode });
  await chmod(tmp, mode);
  await rename(tmp, path);
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Install. Idempotent: wrappers are rewritten, an existing conflist is kept. Failures are
 * CniError 5 (I/O) naming the path.
 */
export async function installCni(o: InstallCniOptions): Promise<InstallCniReport> {
  const root = o.hostRoot ?? '';
  const actions: string[] = [];
  const step = async (what: string, path: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (e) {
      throw new CniError(5, `${what} ${path} failed: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  };
  let node = '/usr/bin/env node';
  let app = o.appRoot;
  if (o.libDir) {
    const lib = o.libDir;
    await step('copying the weft runtime to', root + lib, async () => {
      await mkdir(root + lib, { recursive: true });
      for (const part of ['dist', 'node_modules']) {
        if (await exists(join(o.appRoot, part))) await cp(join(o.appRoot, part), join(root + lib, part), { recursive: true, force: true });
      }
      await copyFile(join(o.appRoot, 'package.json'), join(root + lib, 'package.json'));
      await copyFile(o.nodeBinary ?? process.execPath, join(root + lib, 'node.tmp'));
      await chmod(join(root + lib, 'node.tmp'), 0o755);
      await rename(join(root + lib, 'node.tmp'), join(root + lib, 'node'));
    });
    actions.push(`copied node, dist/ and node_modules/ to ${root + lib}`);
    node = `'${join(lib, 'node')}'`;
    app = lib;
  }
  const front = join(o.appRoot, CNI_FRONT_END);
  const compiled = !o.nodePlugin && await exists(front);
  const plugins: [file: string, script: string][] = [
    [compiled ? 'weft-net-node' : 'weft-net', 'weft-net'], ['weft-ipam', 'weft-ipam'],
  ];
  for (const [file, script] of plugins) {
    const target = join(root + o.binDir, file);
    await step('writing', target, () => writeAtomic(target, wrapperScript(node, join(app, 'dist', 'cmd', `${script}.js`)), 0o755));
    actions.push(`installed ${target}`);
  }
  if (compiled) {
    const target = join(root + o.binDir, 'weft-net');
    await step('writing', target, async () => {
      await mkdir(dirname(target), { recursive: true });
      const tmp = `${target}.tmp-${process.pid}`;
      await copyFile(front, tmp);
      await chmod(tmp, 0o755);
      await rename(tmp, target);
    });
    actions.push(`installed ${target} (compiled front end; runs weft-net-node when the daemon is down)`);
  } else if (!o.nodePlugin) {
    actions.push(`no compiled front end at ${front} (run npm ci): weft-net is the Node plugin`);
  }
  const conflist = join(root + o.confDir, CNI_CONFLIST_FILE);
  if (await exists(conflist)) {
    actions.push(`kept existing ${conflist}`);
  } else {
    await step('writing', conflist, () => writeAtomic(conflist, exampleConflist(o.network, o.socket), 0o644));
    actions.push(`wrote ${conflist} (network "${o.network}", socket ${o.socket})`);
  }
  return { actions };
}
