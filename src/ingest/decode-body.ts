/**
 * Request bodies as real SDKs send them: JSON whatever the Content-Type says, gzip when
 * Content-Encoding says so (RudderStack's default), with the inflated size capped against gzip bombs.
 */
import zlib from 'node:zlib';
import { TesseraError } from '../core/errors/catalogue.ts';

export function inflate(raw: Buffer, encoding: string | undefined, maxInflatedBytes: number): Buffer {
  const enc = (encoding ?? 'identity').trim().toLowerCase();
  if (enc === '' || enc === 'identity') return raw;
  if (enc !== 'gzip' && enc !== 'x-gzip' && enc !== 'deflate') {
    throw new TesseraError(
      'unsupported_encoding',
      `Content-Encoding ${JSON.stringify(encoding)} is not supported; send gzip or no encoding`,
    );
  }
  try {
    return enc === 'deflate'
      ? zlib.inflateSync(raw, { maxOutputLength: maxInflatedBytes })
      : zlib.gunzipSync(raw, { maxOutputLength: maxInflatedBytes });
  } catch (err) {
    if (err instanceof RangeError || (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new TesseraError('payload_too_large', `the inflated body is over the limit of ${maxInflatedBytes} bytes`);
    }
    throw new TesseraError('invalid_gzip', `the body is not valid ${enc} data`);
  }
}

/** Parse JSON text; an empty body is an error too. */
export function parseJson(text: string): unknown {
  if (text.length === 0) throw new TesseraError('invalid_json', 'the request body is empty; send a JSON object');
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new TesseraError('invalid_json', `the request body is not valid JSON: ${(err as Error).message}`);
  }
}
