#!/usr/bin/env node
// Checks the import rules of docs/architecture.md over the TypeScript sources of src/:
//   1. no import cycle between files (type-only imports count: they are still a design cycle);
//   2. no cycle between folders (src/X → src/Y edges from non-test files);
//   3. a file in src/X/ imports another folder src/Y/ only through src/Y/index.ts.
// Imports are read with TypeScript's own pre-processor (static, dynamic and `export … from`),
// so comments and strings never count. Prints one line per problem and exits 1 on any;
// `--json` prints { files, edges, folders, fileCycles, folderCycles, deepImports } instead;
// `--root DIR` checks DIR/src instead of this checkout's (the test checks a broken fixture).
// Used by test/architecture.test.ts; `node scripts/check-imports.mjs` runs it by hand.
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join, dirname, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function walk(dir, out = []) {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** `src/X/...` → 'X'; anything else → null. */
function folderOf(rel) {
  const parts = rel.split('/');
  return parts[0] === 'src' && parts.length >= 3 ? parts[1] : null;
}

/** Resolve a relative specifier ('./a.js', '../b/index.js') of `fromRel` to a repo-relative .ts path. */
function resolveSpec(root, fromRel, spec) {
  if (!spec.startsWith('.')) return null; // a package or node: builtin
  const abs = resolve(root, dirname(fromRel), spec);
  const candidates = [abs.replace(/\.js$/, '.ts'), abs + '.ts', join(abs, 'index.ts')];
  for (const c of candidates) if (existsSync(c) && statSync(c).isFile()) return relative(root, c).split(sep).join('/');
  return null;
}

/** Strongly connected components with more than one node, or a self-loop (Tarjan). */
function cycles(nodes, edges) {
  let index = 0;
  const idx = new Map(), low = new Map(), onStack = new Set(), stack = [], out = [];
  const visit = (v) => {
    idx.set(v, index); low.set(v, index); index++;
    stack.push(v); onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!idx.has(w)) { visit(w); low.set(v, Math.min(low.get(v), low.get(w))); }
      else if (onStack.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const comp = [];
      let w;
      do { w = stack.pop(); onStack.delete(w); comp.push(w); } while (w !== v);
      if (comp.length > 1 || (edges.get(v) ?? new Set()).has(v)) out.push(comp.sort());
    }
  };
  for (const v of nodes) if (!idx.has(v)) visit(v);
  return out;
}

export function checkImports(root = ROOT) {
  const files = walk(join(root, 'src')).map((p) => relative(root, p).split(sep).join('/')).sort();
  const fileEdges = new Map();
  const folderEdges = new Map();
  const deepImports = [];
  let edgeCount = 0;
  for (const f of files) {
    const info = ts.preProcessFile(readFileSync(join(root, f), 'utf8'), true, true);
    const targets = new Set();
    for (const { fileName } of info.importedFiles) {
      const to = resolveSpec(root, f, fileName);
      if (!to) continue;
      targets.add(to);
      edgeCount++;
      const a = folderOf(f), b = folderOf(to);
      if (a && b && a !== b) {
        if (to !== `src/${b}/index.ts`) deepImports.push({ from: f, spec: fileName, to });
        if (!f.endsWith('.test.ts')) {
          if (!folderEdges.has(a)) folderEdges.set(a, new Set());
          folderEdges.get(a).add(b);
        }
      }
    }
    fileEdges.set(f, targets);
  }
  const folders = [...new Set(files.map(folderOf).filter(Boolean))].sort();
  return {
    files: files.length,
    edges: edgeCount,
    folders: Object.fromEntries(folders.map((x) => [x, [...(folderEdges.get(x) ?? [])].sort()])),
    fileCycles: cycles(files, fileEdges),
    folderCycles: cycles(folders, folderEdges),
    deepImports,
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const rootArg = process.argv.indexOf('--root');
  const r = checkImports(rootArg > 0 ? resolve(process.argv[rootArg + 1] ?? '.') : ROOT);
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify(r, null, 2));
  } else {
    for (const c of r.fileCycles) console.log(`import cycle among files: ${c.join(', ')}`);
    for (const c of r.folderCycles) console.log(`import cycle among folders: ${c.map((x) => `src/${x}`).join(', ')}`);
    for (const d of r.deepImports) console.log(`${d.from}: imports '${d.spec}', an internal of src/${folderOf(d.to)}/ (use its index.ts)`);
    const n = r.fileCycles.length + r.folderCycles.length + r.deepImports.length;
    console.log(`check-imports: ${r.files} files, ${r.edges} imports, ${n} problem(s)`);
  }
  process.exitCode = r.fileCycles.length + r.folderCycles.length + r.deepImports.length > 0 ? 1 : 0;
}
