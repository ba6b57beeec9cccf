/**
 * The cluster secret end to end, with real daemons in namespaces: it never shows in the
 * daemon's environment, command line, log, report, status or metrics; and a peer without it
 * receives nothing after its message 1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadClusterSecret } from '../../src/crypto/index.js';
import { Lab, isRoot, WEFT, type LabHost } from '../support/lab.js';

const skip = !isRoot() ? 'needs root (network namespaces): run the tests as root, e.g. sudo npm test' : false;
const RAW = `${process.cwd()}/dist/test/support/raw-handshake.js`;

/** Every form of `secret` that could leak: itself, hex and base64 of it, and the PSK it derives (hex, base64). */
async function forms(secret: string): Promise<string[]> {
  const psk = (await loadClusterSecret({ env: { WEFT_PASSWORD: secret } })).psk!;
  const b = Buffer.from(secret);
  return [secret, b.toString('hex'), b.toString('base64'), psk.toString('hex'), psk.toString('base64')];
}

function writeSecret(lab: Lab, name: string, content: string): string {
  const p = join(lab.dir, name);
  writeFileSync(p, content, { mode: 0o600 });
  return p;
}

test('the secret (and its PSK) never shows in /proc environ or cmdline, the log, weft report, /status or /metrics', { skip, timeout: 90_000 }, async () => {
  const lab = new Lab();
  try {
    const [h1, h2] = lab.addHosts(2);
    const s1 = 'env-given secret: violet staple orbit 31';
    const s2 = 'file-given next secret: amber lantern 77';
    const extra = ['--log-level', 'trace'];
    // h1: WEFT_PASSWORD in the launcher's environment (the background daemon gets it over a pipe).
    lab.exec(h1, process.execPath, [WEFT, ...lab.launchArgs(h1, { extraArgs: extra })], { env: { ...process.env, WEFT_PASSWORD: s1 }, timeoutMs: 30_000 });
    // h2: a two-line --password-file (the rotation format): initiates with s1, also accepts s2.
    const pw2 = writeSecret(lab, 'pw-h2', `${s1}\n${s2}\n`);
    lab.launch(h2, { peers: [h1.ip], extraArgs: [...extra, '--password-file', pw2] });
    await lab.until('h1 and h2 connected', 15_000, async () => (await lab.status(h1)).connections.some((c) => c.state === 'established'));
    // A rotation and a refused handshake add their log lines too.
    lab.exec(h2, process.execPath, [WEFT, 'secret', 'rotate', '--api-socket', h2.socket]);
    const wrong = writeSecret(lab, 'pw-wrong', 'some other secret entirely, 1234\n');
    JSON.parse(lab.exec(h2, process.execPath, [RAW, h1.ip, '6783', wrong]));

    const needles = [...await forms(s1), ...await forms(s2)];
    const st1 = await lab.status(h1);
    assert.deepEqual(st1.secret && { source: st1.secret.source, secrets: st1.secret.secrets }, { source: 'fd', secrets: 1 });
    const st2 = await lab.status(h2);
    assert.equal(st2.secret?.secrets, 2);
    for (const h of [h1, h2] as LabHost[]) {
      const pid = (await lab.status(h)).pid!;
      const places: Record<string, string> = {
        environ: readFileSync(`/proc/${pid}/environ`, 'latin1'),
        cmdline: readFileSync(`/proc/${pid}/cmdline`, 'latin1'),
        log: lab.log(h),
        report: lab.exec(h, process.execPath, [WEFT, 'report', '--api-socket', h.socket]),
        'status --json': lab.exec(h, process.execPath, [WEFT, 'status', '--json', '--api-socket', h.socket]),
        'api /status': JSON.stringify(await h.client.request('GET', '/status')),
        'api /report': JSON.stringify(await h.client.request('GET', '/report')),
        'api /metrics': JSON.stringify(await h.client.request('GET', '/metrics')),
        'http /status': lab.exec(h, 'curl', ['-sf', 'http://127.0.0.1:6782/status']),
        'http /metrics': lab.exec(h, 'curl', ['-sf', 'http://127.0.0.1:6782/metrics']),
      };
      assert.ok(!places.environ!.includes('WEFT_PASSWORD'), `h${h.index}: WEFT_PASSWORD in the daemon's environment`);
      assert.ok(places.log!.length > 1000 && places['http /metrics']!.includes('weft_'), 'the places searched are not empty');
      for (const [where, text] of Object.entries(places)) {
        for (const n of needles) assert.ok(!text.includes(n), `h${h.index}: a form of the secret found in ${where}`);
      }
    }
  } finally {
    lab.destroy();
  }
});

test('a peer with the wrong secret receives zero bytes after its message 1, then the close; the right one gets message 2', { skip, timeout: 60_000 }, async () => {
  const lab = new Lab();
  try {
    const [h1, client] = lab.addHosts(2);
    const right = 'the secret of this cluster, long enough';
    lab.launch(h1, { password: right });
    const raw = (pw: string) => JSON.parse(lab.exec(client, process.execPath, [RAW, h1.ip, '6783', pw])) as { prelude: number; after: number; closed: boolean; closeMs: number };
    const wrong = raw(writeSecret(lab, 'pw-wrong', 'not the secret of this cluster at all\n'));
    assert.equal(wrong.prelude, 6);
    assert.equal(wrong.after, 0, 'bytes sent back to a peer without the secret');
    assert.ok(wrong.closed && wrong.closeMs < 2_000, `closed at once (not by the 5 s handshake timeout): ${JSON.stringify(wrong)}`);
    const none = raw(writeSecret(lab, 'pw-hex', `${'cd'.repeat(32)}\n`));
    assert.equal(none.after, 0);
    const ok = raw(writeSecret(lab, 'pw-right', `${right}\n`));
    assert.ok(ok.after >= 96, `message 2 came back to the peer with the secret: ${JSON.stringify(ok)}`);
    const log = lab.log(h1);
    assert.match(log, /does not know the cluster secret/);
  } finally {
    lab.destroy();
  }
});
