// Checks this folder's app.yaml against what the code needs, so a wrong
// manifest is caught by `npm test` before a deploy. Contacts nothing.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { preflight } from '../src/app.ts';
import { loadManifest } from '../src/manifest.ts';

const path = process.env.LEVEE_MANIFEST ?? 'app.yaml';

test('app.yaml fits this app', () => {
  assert.ok(existsSync(path), `${path} (written by levee) belongs next to the code`);
  const manifest = loadManifest({ LEVEE_MANIFEST: path });
  assert.deepEqual(preflight(manifest, process.env), [], 'fix these lines in app.yaml');
});
