import { expect } from 'chai';
import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { queuedBytes, writeBuffer } from '../src/socket-write.js';

describe('writeBuffer (writes through the socket handle)', () => {
  let server: Server | undefined;
  let client: Socket | undefined;
  let accepted: Socket | undefined;
  afterEach(() => {
    accepted?.destroy();
    client?.destroy();
    server?.close();
  });

  /** A connected pair: the server side to write to, and a client that reads only when told. */
  async function pair(): Promise<{ writer: Socket; reader: Socket }> {
    const serverSide = new Promise<Socket>((resolve) => {
      server = createServer((socket) => {
        accepted = socket;
        socket.on('error', () => socket.destroy());
        resolve(socket);
      });
    });
    await new Promise<void>((resolve) => (server as Server).listen(0, '127.0.0.1', resolve));
    client = connect(((server as Server).address() as AddressInfo).port, '127.0.0.1');
    client.pause();
    await once(client, 'connect');
    return { writer: await serverSide, reader: client };
  }

  async function readAll(reader: Socket, bytes: number, timeoutMs = 5000): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let received = 0;
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`received ${received} of ${bytes} bytes`)), timeoutMs);
      reader.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        received += chunk.length;
        if (received >= bytes) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    reader.resume();
    await done;
    return Buffer.concat(chunks);
  }

  it('keeps the order of every write, through the handle and the Writable, to a client that reads late', async () => {
    const { writer, reader } = await pair();
    const expected: Buffer[] = [];
    // Until the kernel's socket buffers are full and more waits in the handle and in the Writable.
    for (let index = 0; index < 1024 && (index < 64 || queuedBytes(writer) < 1024 * 1024); index++) {
      const chunk = Buffer.alloc(64 * 1024, index);
      expected.push(chunk);
      if (index % 5 === 4) writer.write(chunk);
      else writeBuffer(writer, chunk);
    }
    expect(queuedBytes(writer)).to.be.above(1024 * 1024);
    expect(writer.writableLength).to.be.above(0);
    const received = await readAll(reader, expected.length * 64 * 1024);
    expect(received.equals(Buffer.concat(expected))).to.equal(true);
  });

  it("counts what waits in the handle, and emits 'drain' when it is out", async () => {
    const { writer, reader } = await pair();
    const chunk = Buffer.alloc(256 * 1024, 7);
    let written = 0;
    for (; written < 256 && queuedBytes(writer) <= chunk.length; written++) writeBuffer(writer, chunk);
    expect(writer.writableLength).to.equal(0);
    expect(queuedBytes(writer)).to.be.above(chunk.length);
    const drained = once(writer, 'drain');
    await readAll(reader, written * chunk.length);
    await drained;
    expect(queuedBytes(writer)).to.equal(0);
  });

  it('destroys a socket whose peer is gone instead of throwing', async () => {
    const { writer, reader } = await pair();
    reader.destroy();
    await once(writer, 'end').catch(() => undefined);
    const chunk = Buffer.alloc(64 * 1024, 1);
    for (let index = 0; index < 64 && !writer.destroyed; index++) {
      writeBuffer(writer, chunk);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(writer.destroyed).to.equal(true);
  });
});
