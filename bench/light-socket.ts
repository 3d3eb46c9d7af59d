/**
 * The fan-out bench's client sockets: the least a WebSocket client (RFC 6455) can do and still take
 * part, so that 1,000 of them in one process measure the server, not themselves.
 *
 * Why not `ws` here: the server tells a revoked socket with a frame and a close frame, and each `ws`
 * client then parses both, emits its events and runs the closing handshake. Measured in one process
 * holding 1,000 of them, that costs ~150 µs of CPU per socket (the client ran at 72–104 % of a core
 * while the server sat at 78 %), so the last socket's "arrival" was mostly the time this process took
 * to get round to it. A light socket notes the time its bytes are read, finds the frame and the close
 * code, and answers the close on the next turn. The product's own client is `ws`, and the tests use it.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

const opText = 0x1;
const opClose = 0x8;
const opPing = 0x9;
const opPong = 0xa;

/** One authenticated socket and what it heard. */
export class LightSocket {
  /** When (performance.now) the bytes holding the first `session_ended` frame were read. */
  endedAt: number | null = null;
  closeCode: number | null = null;
  readonly closed: Promise<void>;
  readonly #socket: Socket;
  #buffer: Buffer = Buffer.alloc(0);
  #upgraded = false;
  #onText: ((text: string) => void) | null = null;

  private constructor(socket: Socket) {
    this.#socket = socket;
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.#read(chunk, performance.now()));
    socket.on('error', () => {});
  }

  /** Connects to `url` (`ws://host:port/path`), sends `auth` with `accessToken`, and resolves at `ready`. */
  static open(url: string, accessToken: string): Promise<LightSocket> {
    const target = new URL(url);
    const socket = connect({ host: target.hostname, port: Number(target.port), noDelay: true });
    const light = new LightSocket(socket);
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.once('close', () => reject(new Error(`closed before ready (code ${light.closeCode ?? 'none'})`)));
      light.#onText = (text) => {
        if (text.startsWith('{"type":"ready"')) resolve(light);
      };
      socket.once('connect', () => {
        socket.write(
          `GET ${target.pathname} HTTP/1.1\r\nHost: ${target.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        );
        socket.write(maskedFrame(opText, Buffer.from(JSON.stringify({ type: 'auth', access_token: accessToken }))));
      });
    });
  }

  #read(chunk: Buffer, at: number): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    if (!this.#upgraded) {
      const end = this.#buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const status = this.#buffer.subarray(0, this.#buffer.indexOf('\r\n')).toString('latin1');
      if (!status.startsWith('HTTP/1.1 101')) {
        this.#socket.destroy(new Error(`upgrade refused: ${status}`));
        return;
      }
      this.#upgraded = true;
      this.#buffer = this.#buffer.subarray(end + 4);
    }
    for (let frame = nextFrame(this.#buffer); frame; frame = nextFrame(this.#buffer)) {
      this.#buffer = this.#buffer.subarray(frame.length);
      if (frame.opcode === opText) {
        const text = frame.payload.toString('utf8');
        if (this.endedAt === null && text.startsWith('{"type":"session_ended"')) this.endedAt = at;
        this.#onText?.(text);
      } else if (frame.opcode === opPing) {
        this.#socket.write(maskedFrame(opPong, frame.payload));
      } else if (frame.opcode === opClose) {
        this.closeCode = frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : 1005;
        // Answered on the next turn: every socket readable now is read (and timed) first, as 1,000
        // clients on their own machines would be, rather than each waiting for the others' replies.
        const reply = maskedFrame(opClose, frame.payload.subarray(0, 2));
        setImmediate(() => this.#socket.end(reply));
        return;
      }
    }
  }
}

/** The next whole server frame (unmasked, RFC 6455 §5.2) at the start of `buffer`, or null. */
function nextFrame(buffer: Buffer): { opcode: number; payload: Buffer; length: number } | null {
  if (buffer.length < 2) return null;
  const opcode = buffer[0]! & 0x0f;
  let length = buffer[1]! & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (buffer.length < 4) return null;
    length = buffer.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (buffer.length < 10) return null;
    length = Number(buffer.readBigUInt64BE(2));
    offset = 10;
  }
  if (buffer.length < offset + length) return null;
  return { opcode, payload: buffer.subarray(offset, offset + length), length: offset + length };
}

/** A final client frame: clients mask what they send (RFC 6455 §5.3). */
function maskedFrame(opcode: number, payload: Buffer): Buffer {
  const lengthBytes = payload.length < 126 ? 0 : payload.length < 65_536 ? 2 : 8;
  const header = Buffer.alloc(2 + lengthBytes + 4);
  header[0] = 0x80 | opcode;
  if (lengthBytes === 0) header[1] = 0x80 | payload.length;
  else if (lengthBytes === 2) {
    header[1] = 0x80 | 126;
    header.writeUInt16BE(payload.length, 2);
  } else {
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(BigInt(payload.length), 2);
  }
  const mask = randomBytes(4);
  mask.copy(header, 2 + lengthBytes);
  const masked = Buffer.alloc(payload.length);
  for (let i = 0; i < payload.length; i++) masked[i] = payload[i]! ^ mask[i & 3]!;
  return Buffer.concat([header, masked]);
}
