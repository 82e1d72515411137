// A pretend downstream API for trying the webhook on your laptop:
//   npm run dev:downstream      (prints every event it receives)
// Set DOWNSTREAM_URL=http://127.0.0.1:9500/events in .env.
import { createServer } from 'node:http';

const port = Number(process.env.DEV_DOWNSTREAM_PORT ?? 9500);
createServer(async (req, res) => {
  let body = '';
  for await (const chunk of req) body += chunk;
  const auth = req.headers.authorization?.startsWith('Bearer ') ? 'bearer token present' : 'NO bearer token';
  console.log(`${new Date().toISOString()} ${req.method} ${req.url} (${auth}) ${body.slice(0, 500)}`);
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end('{"ok":true}');
}).listen(port, '127.0.0.1', () => console.log(`Pretend downstream API on http://127.0.0.1:${port}/events`));
