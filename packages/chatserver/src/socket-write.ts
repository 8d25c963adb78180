import type { Socket } from 'node:net';

/**
 * Writes a Buffer to a socket through its libuv handle, below `net.Socket`'s
 * `Writable`, when that is safe; else through `socket.write`.
 *
 * Why: under fan-out a chatserver writes one shared Buffer to thousands of
 * sockets per wake-up, and each `socket.write` went through the `Writable`
 * state machine (`writeOrBuffer`, `_write`, `_writeGeneric`), allocated a
 * native `WriteWrap`, and queued an `afterWrite` tick per socket, although
 * nearly every write completes at once in the kernel. Here a write that
 * completes at once allocates nothing: one spare `WriteWrap` is handed to
 * every such write (the native side only keeps it when the write has to
 * wait), and a new spare is made only after one was kept.
 *
 * Order is kept: the handle is used only while the `Writable` holds nothing
 * (a write of its in flight or buffered would otherwise be overtaken); its
 * later writes queue behind ours in libuv. Bytes queued in the handle are
 * counted by `queuedBytes`, and when the last of them is out the socket emits
 * `'drain'` as the `Writable` would.
 */

interface WriteReq {
  oncomplete: (this: WriteReq, status: number) => void;
  socket: Socket | undefined;
}

interface StreamHandle {
  writeBuffer(req: WriteReq, data: Buffer): number;
  readonly writeQueueSize: number;
}

interface StreamWrapBinding {
  WriteWrap?: new () => WriteReq;
  /** Set by every native write: `[kLastWriteWasAsync]` is 1 when the write request was kept until `oncomplete`. */
  streamBaseState?: Int32Array;
  kLastWriteWasAsync?: number;
}

// Node's own write request class and write state (what `net.Socket` itself
// uses); on a Node without them every write goes through `socket.write`.
const binding: StreamWrapBinding = (() => {
  try {
    const found = (process as unknown as { binding(name: string): StreamWrapBinding }).binding('stream_wrap');
    const complete = typeof found.WriteWrap === 'function' && found.streamBaseState instanceof Int32Array && typeof found.kLastWriteWasAsync === 'number';
    return complete ? found : {};
  } catch {
    return {};
  }
})();
const WriteWrap = binding.WriteWrap;
const writeState = binding.streamBaseState as Int32Array;
const LAST_WRITE_WAS_ASYNC = binding.kLastWriteWasAsync as number;

function onDirectWriteDone(this: WriteReq, status: number): void {
  const socket = this.socket;
  this.socket = undefined;
  if (socket === undefined || socket.destroyed) return;
  if (status < 0) {
    socket.destroy();
    return;
  }
  const handle = handleOf(socket);
  if (handle !== undefined && handle.writeQueueSize === 0 && socket.writableLength === 0) socket.emit('drain');
}

function newRequest(): WriteReq | undefined {
  if (WriteWrap === undefined) return undefined;
  const req = new WriteWrap();
  req.oncomplete = onDirectWriteDone;
  req.socket = undefined;
  return req;
}

let spare = newRequest();

function handleOf(socket: Socket): StreamHandle | undefined {
  const handle = (socket as unknown as { _handle: StreamHandle | null })._handle;
  return handle === null || typeof handle.writeBuffer !== 'function' ? undefined : handle;
}

/** Writes `data` to `socket` (which must be connected and not ended), through its handle when nothing waits in its `Writable`. */
export function writeBuffer(socket: Socket, data: Buffer): void {
  const req = spare;
  const handle = req === undefined || socket.writableLength !== 0 || socket.writableCorked !== 0 ? undefined : handleOf(socket);
  if (handle === undefined || req === undefined) {
    socket.write(data);
    return;
  }
  req.socket = socket;
  const error = handle.writeBuffer(req, data);
  if (error < 0) {
    req.socket = undefined;
    socket.destroy();
    return;
  }
  // Not complete at once: the native side holds `req` until `oncomplete`.
  if (writeState[LAST_WRITE_WAS_ASYNC] !== 0) spare = newRequest();
  else req.socket = undefined;
}

/** Bytes written to `socket` and not yet handed to the kernel, in its `Writable` and in its handle. */
export function queuedBytes(socket: Socket): number {
  const handle = handleOf(socket);
  return socket.writableLength + (handle === undefined ? 0 : handle.writeQueueSize);
}
