/**
 * JSON text with every non-ASCII character written as a `\uXXXX` escape: the same JSON value, pure
 * ASCII. The durable log stores bodies this way because reading text back out of SQLite into a
 * JavaScript string is ~3× slower when it holds any non-ASCII byte (measured: 600 demo batch bodies,
 * 65 MB with ~10k accented letters, took ~1 s to read as sent and ~0.3 s escaped), and one accented
 * name is enough to put a 100-message batch on the slow path. Escaping costs the appender ~2 ns per
 * character, and only for bodies that need it.
 *
 * Only for valid JSON text: outside strings JSON allows no non-ASCII characters, so every one escaped
 * is inside a string, where `\uXXXX` means the same UTF-16 code unit.
 */
import { isAscii } from 'node:buffer';

const NON_ASCII = /[^\x00-\x7f]/;

export function asciiJson(text: string): string {
  if (!NON_ASCII.test(text)) return text;
  let out = '';
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f) {
      out += `${text.slice(from, i)}\\u${c.toString(16).padStart(4, '0')}`;
      from = i + 1;
    }
  }
  return out + text.slice(from);
}

/**
 * `asciiJson(bytes.toString('utf8'))` without the UTF-8 decoding of the whole body: the edge receives
 * bodies as bytes, and V8 decodes text holding any non-ASCII byte ~60× slower than it copies ASCII
 * (measured on the demo's batch bodies: 65 MB in ~650 ms, against ~10 ms as Latin-1). ASCII stretches
 * are copied as they are; each run of bytes ≥ 0x80 (nothing but multi-byte sequences, valid or not)
 * is decoded on its own and escaped. An ASCII byte ends any UTF-8 sequence, so decoding runs one by one
 * gives exactly the characters — replacement characters for invalid bytes included — that decoding
 * the whole body gives.
 */
export function asciiJsonFromUtf8(bytes: Buffer): string {
  if (isAscii(bytes)) return bytes.toString('latin1');
  const n = bytes.length;
  // ASCII is skipped four bytes at a time, over the aligned words of the buffer.
  const head = (4 - (bytes.byteOffset & 3)) & 3;
  const words = n - head >= 4 ? new Uint32Array(bytes.buffer, bytes.byteOffset + head, (n - head) >> 2) : new Uint32Array(0);
  const parts: string[] = [];
  let copied = 0;
  let i = 0;
  while (i < n) {
    if (bytes[i]! < 0x80) {
      if (i >= head && ((i - head) & 3) === 0) {
        let w = (i - head) >> 2;
        while (w < words.length && (words[w]! & 0x80808080) === 0) w++;
        if (w > (i - head) >> 2) {
          i = head + w * 4;
          continue;
        }
      }
      i++;
      continue;
    }
    let j = i + 1;
    while (j < n && bytes[j]! >= 0x80) j++;
    if (i > copied) parts.push(bytes.toString('latin1', copied, i));
    parts.push(escapeAll(bytes.toString('utf8', i, j)));
    copied = j;
    i = j;
  }
  if (copied < n) parts.push(bytes.toString('latin1', copied, n));
  return parts.join('');
}

/** Every character as a `\uXXXX` escape (the text holds no ASCII). */
function escapeAll(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) out += `\\u${text.charCodeAt(i).toString(16).padStart(4, '0')}`;
  return out;
}
