/**
 * A small Docker Engine API client (plain HTTP/JSON over dockerd's unix socket): just what the
 * plugin asks after a Join, which container an endpoint belongs to, its name and labels.
 * Stateless: every call opens its own connection; not Startable.
 */
import { request } from 'node:http';
import { WeftError, DOCKER_ENGINE_TIMEOUT_MS } from '../common/index.js';

/** The container behind an endpoint, as the Engine API describes it. */
export interface EngineContainer {
  id: string;
  /** `/web-1` as Docker keeps it. */
  name: string;
  labels: Record<string, string>;
}

/** What the plugin reads from Docker (the daemon builds a {@link DockerEngine}; tests may hand another). */
export interface EngineLookup {
  /** The container whose endpoint on `networkId` is `endpointId`; null while Docker does not list it yet. */
  containerOfEndpoint(networkId: string, endpointId: string): Promise<EngineContainer | null>;
}

const MAX_REPLY_BYTES = 4 * 1024 * 1024;

/** Docker Engine API over `socketPath` (e.g. /var/run/docker.sock). */
export class DockerEngine implements EngineLookup {
  constructor(private readonly socketPath: string, private readonly timeoutMs = DOCKER_ENGINE_TIMEOUT_MS) {}

  async containerOfEndpoint(networkId: string, endpointId: string): Promise<EngineContainer | null> {
    const net = await this.get(`/networks/${encodeURIComponent(networkId)}`);
    const containers = (net as { Containers?: Record<string, { EndpointID?: string }> } | null)?.Containers ?? {};
    const id = Object.entries(containers).find(([, c]) => c?.EndpointID === endpointId)?.[0];
    if (!id) return null;
    const c = await this.get(`/containers/${encodeURIComponent(id)}/json`) as { Id?: string; Name?: string; Config?: { Labels?: Record<string, string> | null } } | null;
    if (!c || typeof c.Name !== 'string') return null;
    const labels: Record<string, string> = {};
    for (const [k, v] of Object.entries(c.Config?.Labels ?? {})) if (typeof v === 'string') labels[k] = v;
    return { id: c.Id ?? id, name: c.Name, labels };
  }

  /** GET `path`: the JSON reply, null on 404; WEFT_ERR_NOT_RUNNING when dockerd does not answer. */
  private get(path: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const req = request({ socketPath: this.socketPath, path, method: 'GET', headers: { accept: 'application/json', host: 'docker' }, timeout: this.timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_REPLY_BYTES) req.destroy(new WeftError('WEFT_ERR_TOO_BIG', `Docker Engine API reply to ${path} is over ${MAX_REPLY_BYTES} bytes`));
          else chunks.push(c);
        });
        res.on('end', () => {
          if (res.statusCode === 404) return resolve(null);
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 200) return reject(new WeftError('WEFT_ERR_HOST', `Docker Engine API GET ${path}: HTTP ${res.statusCode}: ${text.slice(0, 200).trim()}`));
          try {
            resolve(JSON.parse(text));
          } catch {
            reject(new WeftError('WEFT_ERR_DECODE', `Docker Engine API GET ${path}: reply is not JSON`));
          }
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new WeftError('WEFT_ERR_TIMEOUT', `Docker Engine API GET ${path}: no reply in ${this.timeoutMs} ms`)));
      req.on('error', (e: NodeJS.ErrnoException) => reject(e instanceof WeftError ? e
        : new WeftError('WEFT_ERR_NOT_RUNNING', `Docker Engine API at ${this.socketPath}: ${e.code ?? e.message}`)));
      req.end();
    });
  }
}
