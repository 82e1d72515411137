// Local fake company login, for trying the app on your laptop:
//   npm run dev:login      (in one terminal)
//   npm run dev            (in another)
// It lets you pick a pretend person. Never use it for anything but local development:
// the app refuses a plain-http login provider unless APP_ENV is dev or test.
import { isLocalDev } from '../src/config.ts';
import { loadManifest } from '../src/manifest.ts';
import { startMockOidc, type MockUser } from './mock-oidc.ts';

const env = process.env;
if (!isLocalDev(env)) {
  console.error('The fake login server only runs with APP_ENV=dev (see .env).');
  process.exit(1);
}
const manifest = loadManifest(env);
const groups = manifest.sso.groups;
const personas: MockUser[] = [
  { sub: 'dev-alex', name: 'Alex Example (all groups)', email: 'alex@example.com', groups },
  {
    sub: 'dev-sam',
    name: 'Sam Sample (no approver groups)',
    email: 'sam@example.com',
    groups: groups.filter((g) => !/approv/i.test(g)).length > 0 ? groups.filter((g) => !/approv/i.test(g)) : groups.slice(0, 1),
  },
  { sub: 'dev-outsider', name: 'Olly Outsider (no groups)', email: 'olly@example.com', groups: [] },
];
const issuerUrl = new URL(env.OIDC_ISSUER ?? 'http://127.0.0.1:9400');
const provider = await startMockOidc({
  port: Number(issuerUrl.port || 9400),
  ...(env.OIDC_GROUPS_CLAIM ? { groupsClaim: env.OIDC_GROUPS_CLAIM } : {}),
  personas,
});
console.log(`Fake login server for ${manifest.name} at ${provider.issuer} (Ctrl+C to stop)`);
process.on('SIGINT', () => void provider.close().then(() => process.exit(0)));
process.on('SIGTERM', () => void provider.close().then(() => process.exit(0)));
