// The Node floor: the least a node:http long-poll server can do. GET /sub?after=N
// answers the messages after N at once, else parks until POST /pub appends one,
// which answers every parked request. No validation, no limits: a yardstick.
import { createServer } from 'node:http';

const messages = []; // message n is messages[n - 1]
let parked = [];

function answer(res, after) {
  const body = `[${messages.slice(after).join(',')}]`;
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

const server = createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/pub') {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      messages.push(Buffer.concat(chunks).toString());
      const waiting = parked;
      parked = [];
      for (const entry of waiting) if (!entry.res.destroyed) answer(entry.res, entry.after);
      res.writeHead(204).end();
    });
    return;
  }
  if (req.url === '/count') return res.end(String(messages.length)); // where a new run starts
  const after = Number(new URL(req.url, 'http://x').searchParams.get('after') ?? 0);
  if (after < messages.length) return answer(res, after);
  const entry = { res, after };
  parked.push(entry);
  req.socket.setTimeout(0);
  res.on('close', () => { entry.res = { destroyed: true }; });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => console.log(server.address().port));
