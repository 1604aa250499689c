/**
 * AWS's binary event stream framing (`application/vnd.amazon.eventstream`), which Bedrock's
 * `invoke-with-response-stream` answers in. A message is: its total length and its headers' length
 * (uint32, big-endian), a CRC32 of those 8 bytes, the headers (name length, name, value type, value),
 * the payload, and a CRC32 of everything before it. Bedrock sends each Claude stream event as an
 * `:event-type: chunk` message whose payload is `{"bytes": base64(event JSON)}`, and a failure as
 * an `:message-type: exception` message.
 */
import { crc32 } from 'node:zlib';

export interface EventMessage {
  readonly headers: Readonly<Record<string, string | number | boolean | Buffer>>;
  readonly payload: Buffer;
}

const PRELUDE = 12;
const MAX_MESSAGE = 16 << 20; // Bedrock's chunks are small; a larger length means the framing is lost

/** Reads one header value of `type` at `at`: the value and where the next header starts. */
function headerValue(buf: Buffer, type: number, at: number): [string | number | boolean | Buffer, number] {
  switch (type) {
    case 0:
      return [true, at];
    case 1:
      return [false, at];
    case 2:
      return [buf.readInt8(at), at + 1];
    case 3:
      return [buf.readInt16BE(at), at + 2];
    case 4:
      return [buf.readInt32BE(at), at + 4];
    case 5:
    case 8:
      return [Number(buf.readBigInt64BE(at)), at + 8];
    case 6:
    case 7: {
      const len = buf.readUInt16BE(at);
      const bytes = buf.subarray(at + 2, at + 2 + len);
      return [type === 7 ? bytes.toString('utf8') : Buffer.from(bytes), at + 2 + len];
    }
    case 9:
      return [buf.subarray(at, at + 16).toString('hex'), at + 16];
    default:
      throw new Error(`event stream: unknown header value type ${type}`);
  }
}

/** One whole message (its length already checked) decoded, its checksums verified. */
function decodeMessage(msg: Buffer): EventMessage {
  const total = msg.readUInt32BE(0);
  const headersLength = msg.readUInt32BE(4);
  if (crc32(msg.subarray(0, 8)) !== msg.readUInt32BE(8)) throw new Error('event stream: prelude checksum mismatch');
  if (crc32(msg.subarray(0, total - 4)) !== msg.readUInt32BE(total - 4)) throw new Error('event stream: message checksum mismatch');
  const headers: Record<string, string | number | boolean | Buffer> = {};
  let at = PRELUDE;
  const end = PRELUDE + headersLength;
  while (at < end) {
    const nameLength = msg.readUInt8(at);
    const name = msg.toString('utf8', at + 1, at + 1 + nameLength);
    const [value, next] = headerValue(msg, msg.readUInt8(at + 1 + nameLength), at + 2 + nameLength);
    headers[name] = value;
    at = next;
  }
  return { headers, payload: msg.subarray(end, total - 4) };
}

/** The messages of an event stream body, however its bytes are split into chunks. */
export async function* eventMessages(body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<EventMessage> {
  let pending = Buffer.alloc(0);
  for await (const chunk of body) {
    pending = pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([pending, chunk]);
    while (pending.length >= PRELUDE) {
      const total = pending.readUInt32BE(0);
      if (total < PRELUDE + 4 || total > MAX_MESSAGE) throw new Error(`event stream: a message of ${total} bytes`);
      if (pending.length < total) break;
      yield decodeMessage(pending.subarray(0, total));
      pending = pending.subarray(total);
    }
  }
  if (pending.length > 0) throw new Error('event stream: it ended inside a message');
}

/** A message with string headers (what Bedrock sends), for servers that speak the format (tests, replay). */
export function encodeEventMessage(headers: Readonly<Record<string, string>>, payload: Buffer): Buffer {
  const parts = Object.entries(headers).map(([name, value]) => {
    const n = Buffer.from(name, 'utf8');
    const v = Buffer.from(value, 'utf8');
    const h = Buffer.alloc(1 + n.length + 1 + 2 + v.length);
    h.writeUInt8(n.length, 0);
    n.copy(h, 1);
    h.writeUInt8(7, 1 + n.length);
    h.writeUInt16BE(v.length, 2 + n.length);
    v.copy(h, 4 + n.length);
    return h;
  });
  const head = Buffer.concat(parts);
  const total = PRELUDE + head.length + payload.length + 4;
  const msg = Buffer.alloc(total);
  msg.writeUInt32BE(total, 0);
  msg.writeUInt32BE(head.length, 4);
  msg.writeUInt32BE(crc32(msg.subarray(0, 8)), 8);
  head.copy(msg, PRELUDE);
  payload.copy(msg, PRELUDE + head.length);
  msg.writeUInt32BE(crc32(msg.subarray(0, total - 4)), total - 4);
  return msg;
}
