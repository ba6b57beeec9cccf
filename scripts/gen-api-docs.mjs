#!/usr/bin/env node
// Writes docs/api.md from the route schemas (src/api/routes.ts, compiled). Run after a build:
// `npm run docs:api`. src/api/api-doc.test.ts fails when the committed file is stale.
import { writeFileSync } from 'node:fs';
import { renderApiDoc } from '../dist/src/api/api-doc.js';

writeFileSync(new URL('../docs/api.md', import.meta.url), renderApiDoc());
console.log('wrote docs/api.md');
