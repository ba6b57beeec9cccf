import type * as Protocol from './docker-plugin.js';

/** The Docker plugin protocol module: paths, request schemas, the request and state checkers. */
export type DockerPluginProtocol = typeof Protocol;

/** Load Docker's plugin protocol on demand (it pulls in typebox, which API clients never load). */
export function loadDockerPluginProtocol(): Promise<DockerPluginProtocol> {
  return import('./docker-plugin.js');
}
