/**
 * The import rules of docs/architecture.md, checked over src/ by scripts/check-imports.mjs:
 * no cycle between files or folders, and another folder only through its index.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const REPO = resolve(new URL('../..', import.meta.url).pathname);
const SCRIPT = join(REPO, 'scripts', 'check-imports.mjs');

interface Report {
  files: number;
  edges: number;
  folders: Record<string, string[]>;
  fileCycles: string[][];
  folderCycles: string[][];
  deepImports: { from: string; spec: string; to: string }[];
}

function check(root?: string): { status: number | null; report: Report } {
  const r = spawnSync(process.execPath, [SCRIPT, '--json', ...(root ? ['--root', root] : [])], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.stderr, '', 'the checker itself ran cleanly');
  return { status: r.status, report: JSON.parse(r.stdout) as Report };
}

test('src/ has no import cycle and no folder reaches into another folder past its index.ts', () => {
  const { status, report } = check();
  assert.ok(report.files > 100 && report.edges > 300, `the checker read the tree (${report.files} files, ${report.edges} imports)`);
  assert.deepEqual(report.fileCycles, [], 'no cycle between files');
  assert.deepEqual(report.folderCycles, [], 'no cycle between folders');
  assert.deepEqual(report.deepImports, [], 'other folders only through their index.ts');
  assert.equal(status, 0);
});

test('src/common depends on no other folder', () => {
  assert.deepEqual(check().report.folders.common, []);
});

test('the pure folders dns and directory import no I/O module', () => {
  for (const folder of ['dns', 'directory']) {
    const dir = join(REPO, 'src', folder);
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts') && !n.endsWith('.test.ts'))) {
      const text = readFileSync(join(dir, f), 'utf8');
      const io = [...text.matchAll(/from '(node:(?:fs|fs\/promises|net|dgram|child_process|http|https|dns)|fs|net|dgram)'/g)].map((m) => m[1]);
      assert.deepEqual(io, [], `src/${folder}/${f} imports ${io.join(', ')}`);
    }
  }
  assert.ok(check().report.folders.dns?.includes('directory'), 'src/dns reuses the directory\'s LwwTable');
});

test('docs/architecture.md: every folder has a row, imports only what its row allows, and only lower layers', () => {
  const { folders } = check().report;
  const names = new Set(Object.keys(folders));
  const rows = new Map<string, { layer: number; allowed: Set<string> }>();
  for (const line of readFileSync(join(REPO, 'docs', 'architecture.md'), 'utf8').split('\n')) {
    const m = /^\| (\d+) \| `([a-z]+)\/` \| ([^|]*) \|/.exec(line);
    if (!m) continue;
    const allowed = new Set([...(m[3] ?? '').matchAll(/`([a-z]+)`/g)].map((x) => x[1] ?? '').filter((x) => names.has(x)));
    rows.set(m[2] ?? '', { layer: Number(m[1]), allowed });
  }
  assert.deepEqual([...rows.keys()].sort(), [...names].sort(), 'one row per src/ folder');
  for (const [folder, imports] of Object.entries(folders)) {
    const row = rows.get(folder);
    assert.ok(row, folder);
    for (const dep of imports) {
      assert.ok(row.allowed.has(dep), `src/${folder} imports src/${dep}, which its row in docs/architecture.md does not list`);
    }
    for (const dep of row.allowed) {
      const lower = rows.get(dep);
      assert.ok(lower && lower.layer < row.layer, `docs/architecture.md: ${folder} (layer ${row.layer}) may import ${dep}, which is not in a lower layer`);
    }
  }
});

test('the checker finds a file cycle, a folder cycle and a deep import in a broken fixture', () => {
  const root = mkdtempSync(join(tmpdir(), 'weft-imports-'));
  try {
    const put = (rel: string, text: string) => {
      mkdirSync(dirname(join(root, rel)), { recursive: true });
      writeFileSync(join(root, rel), text);
    };
    put('src/a/index.ts', "export { x } from './x.js';\n");
    put('src/a/x.ts', "import { y } from '../b/y.js';\nexport const x = y + 1;\n");
    put('src/b/index.ts', "export { y } from './y.js';\n");
    put('src/b/y.ts', "import type { x } from '../a/index.js';\nexport const y = 1;\nexport type X = typeof x;\n");
    put('src/b/p.ts', "import { q } from './q.js';\nexport const p = () => q;\n");
    put('src/b/q.ts', "// import { nothing } from './nowhere.js' is a comment and does not count\nexport const q = async () => (await import('./p.js')).p;\n");
    const { status, report } = check(root);
    assert.equal(status, 1);
    assert.deepEqual(report.deepImports.map((d) => d.from), ['src/a/x.ts']);
    assert.deepEqual(report.folderCycles, [['a', 'b']]);
    assert.deepEqual(report.fileCycles.map((c) => c.join(' ')).sort(), [
      'src/a/index.ts src/a/x.ts src/b/y.ts',
      'src/b/p.ts src/b/q.ts',
    ]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
