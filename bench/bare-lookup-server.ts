/**
 * The limit beside the profile-read latency: a bare node:http server that checks the bearer token,
 * parses the query, finds the person in a Map (by user id or e-mail, as many people as the store
 * holds) and answers a profile body of the API's shape as JSON. Prints its URL on stdout.
 *
 * Usage: node --import tsx bench/bare-lookup-server.ts <profiles> <token>
 */
import http from 'node:http';
import { bulkAnonymousId, bulkEmail, bulkUserId } from './demo-traffic.ts';

const profiles = Number(process.argv[2] ?? 1000);
const token = `Bearer ${process.argv[3] ?? ''}`;
const index = new Map<string, number>();
for (let i = 0; i < profiles; i++) {
  index.set(`user_id:${bulkUserId(i)}`, i);
  index.set(`email:${bulkEmail(i)}`, i);
}
const t = new Date().toISOString();
const source = { factSeq: 1, sourceId: 'src_bench', messageId: 'bulk-0' };
const at = { at: t, sourceId: 'src_bench', messageId: 'bulk-0' };

function profileOf(i: number) {
  return {
    id: `prof_${i.toString(36).padStart(16, '0')}`,
    traits: {
      email: bulkEmail(i),
      firstName: `First${i % 997}`,
      lastName: `Last${i % 991}`,
      plan: 'pro',
      address: { city: 'X', country: 'US' },
    },
    traitSources: { email: at, firstName: at, lastName: at, plan: at, 'address.city': at, 'address.country': at },
    identities: [
      { type: 'user_id', value: bulkUserId(i), firstSeen: t, source },
      { type: 'email', value: bulkEmail(i), firstSeen: t, source },
      { type: 'anonymous_id', value: bulkAnonymousId(i), firstSeen: t, source },
    ],
    accounts: [],
    mergedProfileIds: [],
    mergeCount: 0,
    firstSeen: t,
    createdAt: t,
    updatedAt: t,
  };
}

const server = http.createServer((req, res) => {
  if (req.headers.authorization !== token) return void res.writeHead(401).end();
  const q = new URL(req.url ?? '/', 'http://x').searchParams;
  const i = index.get(`${q.get('type')}:${q.get('value')}`);
  if (i === undefined) return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":"not_found"}}');
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(profileOf(i)));
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  process.stdout.write(`http://127.0.0.1:${port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
