// First-time local setup: creates .env from .env.example and fills every empty
// *_SECRET= and *_TOKEN= line with a fresh random value (local use only).
// Run with `npm run setup`. .env is never committed.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

if (existsSync('.env')) {
  console.log('.env already exists, nothing to do.');
} else {
  const filled: string[] = [];
  const text = readFileSync('.env.example', 'utf8').replace(/^([A-Z0-9_]+_(?:SECRET|TOKEN))=\s*$/gm, (_line, name: string) => {
    filled.push(name);
    return `${name}=${randomBytes(32).toString('base64url')}`;
  });
  writeFileSync('.env', text, { mode: 0o600 });
  console.log(`Created .env with new random values for ${filled.join(', ') || 'nothing'}. Edit it if you need other settings.`);
}
