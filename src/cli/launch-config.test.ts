import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_API_SOCKET, DEFAULT_CONN_LIMIT, DEFAULT_DATA_DIR, DEFAULT_PORT, DEFAULT_STATUS_ADDR,
  GOSSIP_INTERVAL_MS, HEARTBEAT_INTERVAL_MS, HEARTBEAT_TIMEOUT_MS, isWeftError, DEFAULT_DOCKER_PLUGIN_SOCKET,
} from '../common/index.js';
import { UsageError, parseLaunchArgs } from './index.js';
import { testContext } from '../../test/support/cli/test-context.js';

const parse = (args: string[], env: NodeJS.ProcessEnv = {}): ReturnType<typeof parseLaunchArgs> =>
  parseLaunchArgs(args, testContext({ env, cwd: '/srv', hostname: 'host-a' }));

/** Asserts that parsing fails with a one-line message starting with `start`. */
function fails(args: string[], start: string, usage = false): void {
  assert.throws(() => parse(args), (e: unknown) => {
    assert.ok(isWeftError(e, 'WEFT_ERR_BAD_ARGS'), String(e));
    assert.equal(e instanceof UsageError, usage, `usage error? ${e.message}`);
    assert.ok(e.message.startsWith(start), `"${e.message}" should start with "${start}"`);
    assert.ok(!e.message.includes('\n'));
    return true;
  }, args.join(' '));
}

test('defaults come from the constants', () => {
  assert.deepEqual(parse([]), {
    foreground: false,
    config: {
      peers: [], nickname: 'host-a', port: DEFAULT_PORT, host: '0.0.0.0', dataDir: DEFAULT_DATA_DIR,
      apiSocket: DEFAULT_API_SOCKET, statusAddr: DEFAULT_STATUS_ADDR, connLimit: DEFAULT_CONN_LIMIT, logLevel: 'info',
      heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS, heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
      gossipIntervalMs: GOSSIP_INTERVAL_MS, backoffScale: 1,
      bridge: 'weft', ipallocRange: '10.32.0.0/12', ipallocInit: {}, podTxOffload: true,
      dockerPluginSocket: DEFAULT_DOCKER_PLUGIN_SOCKET,
    },
  });
});

test('the Docker plugin: default socket, --docker-plugin-socket and --docker-api-socket made absolute, --no-docker-plugin turns it off', () => {
  assert.equal(parse([]).config.dockerPluginSocket, DEFAULT_DOCKER_PLUGIN_SOCKET);
  const c = parse(['--docker-plugin-socket', 'p/weft.sock', '--docker-api-socket', 'd.sock']).config;
  assert.equal(c.dockerPluginSocket, '/srv/p/weft.sock');
  assert.equal(c.dockerApiSocket, '/srv/d.sock');
  assert.equal(parse(['--no-docker-plugin']).config.dockerPluginSocket, undefined);
  fails(['--no-docker-plugin', '--docker-plugin-socket', '/x.sock'], '--no-docker-plugin and --docker-plugin-socket exclude each other', true);
  fails(['--docker-plugin-socket', ''], 'invalid --docker-plugin-socket');
  fails(['--docker-api-socket', `/${'x'.repeat(200)}`], 'invalid --docker-api-socket');
});

test('every flag is parsed; relative paths are made absolute; peers are normalised', () => {
  const { config, foreground } = parse([
    '10.0.0.2', '--name', '8E:1F:00:AA:BB:CC', '--nickname', 'n1', '--port', '7000', '--host', '::',
    '--password-file', 'secret', '--data-dir', 'data', '--api-socket', 'run/w.sock', '--status-addr', '[::1]:9000',
    '--conn-limit', '5', '--log-level', 'debug', '--foreground', '--heartbeat-interval', '100',
    '--heartbeat-timeout', '500', '--gossip-interval', '250', '--backoff-scale', '0.1',
    'node-2:7001', '[fd00::1]:6783', '[fd00::2]',
  ]);
  assert.equal(foreground, true);
  assert.deepEqual(config, {
    peers: ['10.0.0.2', 'node-2:7001', '[fd00::1]:6783', '[fd00::2]'], name: '8e:1f:00:aa:bb:cc', nickname: 'n1',
    port: 7000, host: '::', passwordFile: '/srv/secret', dataDir: '/srv/data', apiSocket: '/srv/run/w.sock',
    statusAddr: '[::1]:9000', connLimit: 5, logLevel: 'debug', heartbeatIntervalMs: 100, heartbeatTimeoutMs: 500,
    gossipIntervalMs: 250, backoffScale: 0.1,
    bridge: 'weft', ipallocRange: '10.32.0.0/12', ipallocInit: {}, podTxOffload: true,
    dockerPluginSocket: DEFAULT_DOCKER_PLUGIN_SOCKET,
  });
  assert.equal(parse(['--status-addr', '']).config.statusAddr, '');
  assert.equal(parse(['--status-addr=']).config.statusAddr, '');
  assert.equal(parse(['--port=1']).config.port, 1);
});

test('the API socket comes from --api-socket, else WEFT_API_SOCKET, else the default', () => {
  assert.equal(parse([], { WEFT_API_SOCKET: '/tmp/x.sock' }).config.apiSocket, '/tmp/x.sock');
  assert.equal(parse(['--api-socket', '/tmp/y.sock'], { WEFT_API_SOCKET: '/tmp/x.sock' }).config.apiSocket, '/tmp/y.sock');
  assert.equal(parse([], { WEFT_API_SOCKET: '' }).config.apiSocket, DEFAULT_API_SOCKET);
});

test('the sleeve A/B switches come from WEFT_SLEEVE_* (0 or 1) into the config, unset keeps the default, anything else is refused', () => {
  const c = parse([], { WEFT_SLEEVE_TAP_COALESCE: '0', WEFT_SLEEVE_UDP_GSO: '1', WEFT_SLEEVE_UDP_GRO: '' }).config;
  assert.equal(c.sleeveTapCoalesce, false);
  assert.equal(c.sleeveUdpGso, true);
  assert.equal('sleeveUdpGro' in c, false);
  const d = parse([]).config;
  assert.equal('sleeveTapCoalesce' in d || 'sleeveUdpGso' in d || 'sleeveUdpGro' in d, false);
  assert.throws(() => parse([], { WEFT_SLEEVE_UDP_GRO: 'yes' }),
    (e: unknown) => e instanceof Error && e.message === 'invalid WEFT_SLEEVE_UDP_GRO "yes": must be 0 (off) or 1 (on)');
});

test('--password is refused with the ps explanation, in every spelling', () => {
  const msg = '--password is not accepted on the command line (it would show in ps); use --password-file or WEFT_PASSWORD';
  for (const args of [['--password', 'x'], ['--password=x'], ['10.0.0.1', '--password']]) {
    assert.throws(() => parse(args), (e: unknown) => e instanceof UsageError && e.message === msg);
  }
  fails(['--', '--password'], 'invalid peer "--password"'); // after --, only a (bad) peer
});

test('bad values each give their one-line message', () => {
  fails(['--port', '0'], 'invalid --port "0": must be an integer 1-65535');
  fails(['--port', '65536'], 'invalid --port "65536"');
  fails(['--port', '80x'], 'invalid --port "80x"');
  fails(['--port=-1'], 'invalid --port "-1"');
  fails(['--name', 'host1'], 'invalid --name "host1": must be 6 hex bytes');
  fails(['--nickname', 'a b'], 'invalid --nickname "a b"');
  fails(['--nickname', ''], 'invalid --nickname ""');
  fails(['--host', 'example.com'], 'invalid --host "example.com": must be an IPv4 or IPv6 address');
  fails(['--status-addr', '127.0.0.1'], 'invalid --status-addr "127.0.0.1": missing ":port"');
  fails(['--status-addr', 'localhost:70000'], 'invalid --status-addr "localhost:70000": port must be');
  fails(['--conn-limit', '0'], 'invalid --conn-limit "0": must be an integer 1-10000');
  fails(['--log-level', 'loud'], 'invalid --log-level "loud": must be one of fatal, error');
  fails(['--heartbeat-interval', '5'], 'invalid --heartbeat-interval "5": must be an integer 10-3600000');
  fails(['--heartbeat-interval', '1000', '--heartbeat-timeout', '1000'], 'invalid --heartbeat-timeout "1000": must be greater than the heartbeat interval (1000 ms)');
  fails(['--gossip-interval', 'soon'], 'invalid --gossip-interval "soon"');
  fails(['--backoff-scale', '0'], 'invalid --backoff-scale "0": must be a number > 0 and <= 100');
  fails(['--backoff-scale', 'NaN'], 'invalid --backoff-scale "NaN"');
  fails(['--password-file', ''], 'invalid --password-file ""');
  fails(['--data-dir', ''], 'invalid --data-dir ""');
  fails(['--api-socket', ''], 'invalid --api-socket ""');
  fails(['--api-socket', '/' + 'x'.repeat(120)], 'API socket path is longer than 107 bytes');
  fails(['fd00::1'], 'invalid peer "fd00::1": IPv6 addresses need brackets');
  fails(['host:99999'], 'invalid peer "host:99999": port must be an integer 1-65535');
  fails(['bad_host'], 'invalid peer "bad_host"');
});

test('a malformed command line is a usage error', () => {
  fails(['--bogus'], 'unknown option --bogus (see weft launch --help)', true);
  fails(['--port'], 'option --port needs a value', true);
  fails(['--port', '-1'], 'option --port needs a value (write --port=-X', true);
  fails(['--foreground=yes'], 'option --foreground does not take a value', true);
});

test('Kubernetes mode: --kube is in-cluster, --kubeconfig FILE is made absolute, not both, not empty', () => {
  assert.equal(parse([]).config.kube, undefined);
  assert.deepEqual(parse(['--kube']).config.kube, { mode: 'in-cluster' });
  assert.deepEqual(parse(['--kubeconfig', 'conf/kube.yaml']).config.kube, { mode: 'kubeconfig', file: '/srv/conf/kube.yaml' });
  fails(['--kube', '--kubeconfig', '/k'], '--kube (in-cluster) and --kubeconfig FILE exclude each other', true);
  fails(['--kubeconfig', ''], 'invalid --kubeconfig ""');
});
