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
