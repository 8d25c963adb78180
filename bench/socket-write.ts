// CPU per socket write of one shared Buffer to many sockets, `socket.write`
// against `writeBuffer` (packages/chatserver/src/socket-write.ts), in turns
// in one process: what a stream wake-up does per stream. The readers are a
// child process on the other core. `node --import tsx bench/socket-write.ts [SOCKETS] [ROUNDS]`
import { spawn } from 'node:child_process';
import { createServer, connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeBuffer } from '../packages/chatserver/src/socket-write.js';

if (process.argv[2] === 'readers') {
  const [port, count] = [Number(process.argv[3]), Number(process.argv[4])];
  let open = 0;
  for (let index = 0; index < count; index++) {
    const socket = connect({ port, host: '127.0.0.1' }, () => {
      if (++open === count) process.stdout.write('open\n');
    });
    socket.on('data', () => {});
    socket.on('error', () => {});
  }
} else {
  const sockets = Number(process.argv[2] ?? 5000);
  const rounds = Number(process.argv[3] ?? 40);
  const accepted: Socket[] = [];
  const server = createServer({ noDelay: true }, (socket) => {
    socket.setNoDelay(true);
    socket.on('error', () => {});
    accepted.push(socket);
  });
  // A backlog above the connections opened at once: an overflow leaves the client connected and the server without the socket.
  await new Promise<void>((done) => server.listen({ port: 0, host: '127.0.0.1', backlog: sockets + 1024 }, done));
  const port = (server.address() as { port: number }).port;
  // The readers on the other core (this process runs on core 0: `taskset -c 0`).
  const readers = spawn('taskset', ['-c', '1', process.execPath, '--import', 'tsx', new URL(import.meta.url).pathname, 'readers', String(port), String(sockets)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((done, fail) => {
    const timer = setTimeout(() => fail(new Error('readers did not connect within 60 s')), 60_000);
    readers.stdout.once('data', () => { clearTimeout(timer); done(); });
  });
  for (let waited = 0; accepted.length < sockets; waited += 10) {
    if (waited > 10_000) throw new Error(`${accepted.length} of ${sockets} connections accepted within 10 s`);
    await sleep(10);
  }
  const frame = Buffer.from(`id: room:12345\ndata: ${JSON.stringify({ type: 'message', room: 'room', seq: 12345, text: 'x'.repeat(150) })}\n\n`);
  const modes = {
    'socket.write': (socket: Socket) => socket.write(frame),
    writeBuffer: (socket: Socket) => writeBuffer(socket, frame),
  };
  const cpu = { 'socket.write': 0, writeBuffer: 0 };
  for (let round = 0; round < rounds; round++) {
    // Alternate which goes first, so neither always follows the other's idle pause.
    const order = round % 2 === 0 ? (['socket.write', 'writeBuffer'] as const) : (['writeBuffer', 'socket.write'] as const);
    for (const mode of order) {
      const start = process.cpuUsage();
      for (const socket of accepted) modes[mode](socket);
      // What a write leaves for later (the Writable's afterWrite ticks) is counted too.
      await new Promise<void>((done) => setImmediate(done));
      const used = process.cpuUsage(start);
      cpu[mode] += used.user + used.system;
      await sleep(100);
    }
  }
  const writes = sockets * rounds;
  const [plain, direct] = [cpu['socket.write'] / writes, cpu.writeBuffer / writes];
  process.stdout.write(
    `${sockets} sockets x ${rounds} rounds, CPU per write: socket.write ${plain.toFixed(2)} us, writeBuffer ${direct.toFixed(2)} us; ratio ${(direct / plain).toFixed(3)}\n`,
  );
  readers.kill();
  for (const socket of accepted) socket.destroy();
  server.close();
}
