import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { renderApiDoc } from './api-doc.js';
import { ROUTES } from './routes.js';

test('docs/api.md is what `npm run docs:api` generates from the route schemas', () => {
  // Compiled to dist/src/api/: the repository root is three levels up.
  const committed = readFileSync(new URL('../../../docs/api.md', import.meta.url), 'utf8');
  assert.equal(committed, renderApiDoc(), 'docs/api.md is stale: run "npm run build && npm run docs:api"');
  for (const r of Object.values(ROUTES)) assert.ok(committed.includes(`### ${r.method} ${r.path}\n`), `${r.path} documented`);
});
