/**
 * What the edge needs to know of a request body, without building it: whether it is a JSON object, its
 * top-level `writeKey` and the length of its top-level `batch`. The edge only checks a body and makes it
 * durable (the processor decodes every message), so building the whole value with `JSON.parse` was
 * wasted work: on the demo's batches (~1 KB a message) it cost the edge's thread several µs a message
 * and the garbage of every parsed message, where this scan allocates almost nothing.
 *
 * `outlineJson` reads the body's UTF-8 bytes (V8 reads a byte array ~3× faster than the characters of a
 * string). It is deliberately conservative: it answers only for bytes it has checked against the whole
 * JSON grammar (RFC 8259, as `JSON.parse` reads it), and answers `null` for anything else: invalid JSON,
 * nesting deeper than it follows, a top-level key written with escapes. The caller then takes the slow
 * path (`outlineOf(JSON.parse(text))`), which also gives invalid JSON its precise error message. So an
 * outline is always exactly what parsing would have said (the property tests compare the two), and a body
 * the edge accepts always parses in the processor.
 *
 * Bytes of 0x80 and above are accepted inside strings only, as characters are: once decoded they are
 * never control characters, and outside strings JSON allows no non-ASCII character at all.
 */
import type { JsonObject } from '../core/event/event.ts';
import { asciiJsonFromUtf8 } from '../log/ascii-json.ts';

export interface BodyOutline {
  /** The body is a JSON object. */
  isObject: boolean;
  /** The top-level `writeKey` when it is a string; otherwise undefined. */
  writeKey: string | undefined;
  /** The number of elements of the top-level `batch` when it is an array; otherwise null. */
  batchLength: number | null;
}

/** Nesting the scan follows before it hands the body to `JSON.parse` (which has no such limit). */
const MAX_DEPTH = 128;

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The outline of an already parsed body (the slow path, and the reference the scan must agree with). */
export function outlineOf(body: unknown): BodyOutline {
  if (!isObject(body)) return { isObject: false, writeKey: undefined, batchLength: null };
  return {
    isObject: true,
    writeKey: typeof body.writeKey === 'string' ? body.writeKey : undefined,
    batchLength: Array.isArray(body.batch) ? body.batch.length : null,
  };
}

/** The outline of a UTF-8 JSON body, or null when the scan cannot vouch for it (see the module comment). */
export function outlineJson(bytes: Uint8Array): BodyOutline | null {
  return new Scan(bytes).outline();
}

// Character codes.
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

const isDigit = (c: number) => c >= ZERO && c <= NINE;
const isHex = (c: number) => (c >= ZERO && c <= NINE) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
const BATCH = [QUOTE, ...Buffer.from('batch'), QUOTE];
const WRITE_KEY = [QUOTE, ...Buffer.from('writeKey'), QUOTE];
const TRUE = [...Buffer.from('true')];
const FALSE = [...Buffer.from('false')];
const NULL = [...Buffer.from('null')];

/**
 * One pass over the bytes. Each `scan…` method takes the index where its value starts and returns the
 * index just after it, or -1 when the body is not valid there. `at(i)` is -1 past the end, which fails
 * every test below, so the end of the body needs no check of its own (and no read goes out of bounds,
 * which V8 handles far more slowly).
 */
class Scan {
  /** Whether the string scanned last held an escape (set by `scanString`). */
  private escaped = false;
  /** Elements of the array scanned last (set by `scanArray`). */
  private elements = 0;
  private readonly n: number;

  constructor(private readonly b: Uint8Array) {
    this.n = b.length;
  }

  private at(i: number): number {
    return i < this.n ? this.b[i]! : -1;
  }

  private matches(i: number, word: readonly number[]): boolean {
    for (let k = 0; k < word.length; k++) if (this.at(i + k) !== word[k]) return false;
    return true;
  }

  outline(): BodyOutline | null {
    const start = this.skipSpace(0);
    const out: BodyOutline = { isObject: this.at(start) === OPEN_BRACE, writeKey: undefined, batchLength: null };
    const end = out.isObject ? this.scanObject(start, 1, out) : this.scanValue(start, 0);
    return end >= 0 && this.skipSpace(end) === this.n ? out : null;
  }

  /** Which of the two keys that matter the key string at `start…end` is; `escaped` when it holds an escape. */
  private topKey(start: number, end: number): 'batch' | 'writeKey' | 'escaped' | null {
    if (this.escaped) return 'escaped';
    if (end - start === BATCH.length && this.matches(start, BATCH)) return 'batch';
    if (end - start === WRITE_KEY.length && this.matches(start, WRITE_KEY)) return 'writeKey';
    return null;
  }

  /** Note a top-level member's value in the outline; a later duplicate overrides an earlier one, as in `JSON.parse`. */
  private note(out: BodyOutline, key: 'batch' | 'writeKey', start: number, end: number): void {
    const first = this.at(start);
    if (key === 'batch') out.batchLength = first === OPEN_BRACKET ? this.elements : null;
    // One short string a request: decoded exactly as the whole body would be.
    else
      out.writeKey =
        first === QUOTE
          ? (JSON.parse(asciiJsonFromUtf8(Buffer.from(this.b.buffer, this.b.byteOffset + start, end - start))) as string)
          : undefined;
  }

  private skipSpace(i: number): number {
    for (;;) {
      const c = this.at(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else return i;
    }
  }

  private scanValue(i: number, depth: number): number {
    const c = this.at(i);
    if (c === QUOTE) return this.scanString(i);
    if (c === OPEN_BRACE) return depth >= MAX_DEPTH ? -1 : this.scanObject(i, depth + 1);
    if (c === OPEN_BRACKET) return depth >= MAX_DEPTH ? -1 : this.scanArray(i, depth + 1);
    if (c === 0x74) return this.matches(i, TRUE) ? i + 4 : -1;
    if (c === 0x66) return this.matches(i, FALSE) ? i + 5 : -1;
    if (c === 0x6e) return this.matches(i, NULL) ? i + 4 : -1;
    return this.scanNumber(i);
  }

  private scanString(i: number): number {
    const b = this.b;
    const n = this.n;
    let escaped = false;
    i++;
    for (;;) {
      const c = i < n ? b[i]! : -1;
      if (c === QUOTE) {
        this.escaped = escaped;
        return i + 1;
      }
      if (c === BACKSLASH) {
        escaped = true;
        const e = this.at(i + 1);
        if (e === 0x75) {
          if (!(isHex(this.at(i + 2)) && isHex(this.at(i + 3)) && isHex(this.at(i + 4)) && isHex(this.at(i + 5)))) return -1;
          i += 6;
        } else if (e === QUOTE || e === BACKSLASH || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
          i += 2;
        } else return -1;
      } else if (c >= 0x20) i++;
      else return -1; // a control character, or the end of the body
    }
  }

  private scanNumber(i: number): number {
    let c = this.at(i);
    if (c === MINUS) c = this.at(++i);
    if (c === ZERO) c = this.at(++i);
    else if (c > ZERO && c <= NINE) while (isDigit((c = this.at(++i))));
    else return -1;
    if (c === DOT) {
      if (!isDigit(this.at(++i))) return -1;
      while (isDigit((c = this.at(++i))));
    }
    if (c === 0x65 || c === 0x45) {
      c = this.at(++i);
      if (c === PLUS || c === MINUS) c = this.at(++i);
      if (!isDigit(c)) return -1;
      while (isDigit(this.at(++i)));
    }
    return i;
  }

  private scanArray(i: number, depth: number): number {
    let elements = 0;
    i = this.skipSpace(i + 1);
    if (this.at(i) === CLOSE_BRACKET) {
      this.elements = 0;
      return i + 1;
    }
    for (;;) {
      i = this.scanValue(i, depth);
      if (i < 0) return -1;
      elements++;
      i = this.skipSpace(i);
      const c = this.at(i);
      if (c === COMMA) i = this.skipSpace(i + 1);
      else if (c === CLOSE_BRACKET) {
        this.elements = elements;
        return i + 1;
      } else return -1;
    }
  }

  /** An object; with `top`, the body itself, whose `batch` and `writeKey` are noted in `top`. */
  private scanObject(i: number, depth: number, top: BodyOutline | null = null): number {
    i = this.skipSpace(i + 1);
    if (this.at(i) === CLOSE_BRACE) return i + 1;
    for (;;) {
      if (this.at(i) !== QUOTE) return -1;
      const keyStart = i;
      i = this.scanString(i);
      if (i < 0) return -1;
      const key = top === null ? null : this.topKey(keyStart, i);
      // A top-level key written with escapes is left to JSON.parse.
      if (key === 'escaped') return -1;
      i = this.skipSpace(i);
      if (this.at(i) !== COLON) return -1;
      const valueStart = this.skipSpace(i + 1);
      i = this.scanValue(valueStart, depth);
      if (i < 0) return -1;
      if (key !== null) this.note(top!, key, valueStart, i);
      i = this.skipSpace(i);
      const c = this.at(i);
      if (c === COMMA) i = this.skipSpace(i + 1);
      else if (c === CLOSE_BRACE) return i + 1;
      else return -1;
    }
  }
}
