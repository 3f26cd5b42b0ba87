/** The tokenizer of the segment language. Positions are 1-based lines and columns (UTF-16 code units). */

export type Token =
  | { kind: 'ident'; text: string; line: number; column: number }
  | { kind: 'string'; text: string; value: string; line: number; column: number }
  | { kind: 'number'; text: string; value: number; line: number; column: number }
  | { kind: 'punct'; text: '(' | ')' | ',' | '.' | ':'; line: number; column: number }
  | { kind: 'op'; text: '=' | '!=' | '>' | '>=' | '<' | '<='; line: number; column: number }
  | { kind: 'eof'; text: ''; line: number; column: number };

export interface ParseError {
  line: number;
  column: number;
  message: string;
}

export type LexResult = { ok: true; tokens: Token[] } | { ok: false; error: ParseError };

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const IDENT = /[A-Za-z_][A-Za-z0-9_]*/y;
const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', '\\': '\\', "'": "'", '"': '"' };

/** How a token is named in "expected … but found …". */
export function describeToken(t: Token): string {
  switch (t.kind) {
    case 'eof':
      return 'end of input';
    case 'string':
      return `string ${quote(t.value)}`;
    case 'number':
      return `number ${t.text}`;
    case 'ident':
    case 'punct':
    case 'op':
      return `'${t.text}'`;
    default: {
      const _never: never = t;
      return _never;
    }
  }
}

/** A string literal as the language writes it: single quotes, backslash escapes. */
export function quote(value: string): string {
  let out = "'";
  for (const ch of value) {
    const code = ch.charCodeAt(0);
    if (ch === '\\' || ch === "'") out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}'`;
}

export function tokenize(text: string): LexResult {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const fail = (at: number, message: string): LexResult => ({
    ok: false,
    error: { line, column: at - lineStart + 1, message },
  });
  while (i < text.length) {
    const ch = text[i] as string;
    const column = i - lineStart + 1;
    if (ch === '\n') {
      i += 1;
      line += 1;
      lineStart = i;
      continue;
    }
    if (ch === ' ' || ch === '\t' || ch === '\r') {
      i += 1;
      continue;
    }
    if (ch === "'" || ch === '"') {
      let value = '';
      let j = i + 1;
      for (;;) {
        const c = text[j];
        if (c === undefined || c === '\n') return fail(i, 'unterminated string');
        if (c === ch) break;
        if (c === '\\') {
          const e = text[j + 1];
          if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(j + 2, j + 6))) {
            value += String.fromCharCode(parseInt(text.slice(j + 2, j + 6), 16));
            j += 6;
            continue;
          }
          const decoded = e === undefined ? undefined : ESCAPES[e];
          if (decoded === undefined) return fail(j, `unknown escape '\\${e ?? ''}' in string`);
          value += decoded;
          j += 2;
          continue;
        }
        value += c;
        j += 1;
      }
      tokens.push({ kind: 'string', text: text.slice(i, j + 1), value, line, column });
      i = j + 1;
      continue;
    }
    if (ch === '(' || ch === ')' || ch === ',' || ch === '.' || ch === ':') {
      tokens.push({ kind: 'punct', text: ch, line, column });
      i += 1;
      continue;
    }
    if (ch === '=' || ch === '>' || ch === '<' || (ch === '!' && text[i + 1] === '=')) {
      const two = text.slice(i, i + 2);
      const op = two === '!=' || two === '>=' || two === '<=' ? two : (ch as '=' | '>' | '<');
      tokens.push({ kind: 'op', text: op, line, column });
      i += op.length;
      continue;
    }
    NUMBER.lastIndex = i;
    const num = NUMBER.exec(text);
    if (num) {
      tokens.push({ kind: 'number', text: num[0], value: Number(num[0]), line, column });
      i += num[0].length;
      continue;
    }
    IDENT.lastIndex = i;
    const ident = IDENT.exec(text);
    if (ident) {
      tokens.push({ kind: 'ident', text: ident[0], line, column });
      i += ident[0].length;
      continue;
    }
    return fail(i, `unexpected character ${quote(String.fromCodePoint(text.codePointAt(i) ?? 0))}`);
  }
  tokens.push({ kind: 'eof', text: '', line, column: i - lineStart + 1 });
  return { ok: true, tokens };
}
