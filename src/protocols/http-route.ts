/**
 * HTTP routes: the request path with its variable segments replaced by
 * placeholders, so that a summary grouped by route stays short on real
 * traffic (`/users/123/orders?x=1` -> `/users/{id}/orders`). The rules, in
 * order, for each path segment (the query and fragment are dropped first,
 * and an absolute-form target loses its scheme and authority):
 *
 * | segment | becomes |
 * |---|---|
 * | digits only (`123`) | `{id}` |
 * | a UUID (`3f2b...-...`, 8-4-4-4-12 hex digits) | `{uuid}` |
 * | a date (`2024-05-01`) | `{date}` |
 * | 16 or more hex digits, at least one of them 0-9 (a hash, an object id) | `{hex}` |
 * | 16 or more letters, digits, `-` or `_`, with digits and letters (a token) | `{token}` |
 * | more than 64 characters | `{long}` |
 * | anything else | itself |
 *
 * A segment with a file extension (`.png`, up to 5 letters or digits) is
 * judged without it and keeps it: `5d41...592.png` -> `{hex}.png`.
 */

function segment(s: string): string {
  if (s === '') return s;
  // a file extension (1-5 letters or digits after the last dot) is kept
  const dot = s.lastIndexOf('.');
  if (dot > 0 && s.length - dot - 1 >= 1 && s.length - dot - 1 <= 5 && isAlnum(s, dot + 1, s.length)) {
    const stem = stemRule(s, dot);
    return stem === null ? s : stem + s.slice(dot);
  }
  return stemRule(s, s.length) ?? (s.length > 64 ? '{long}' : s);
}

function isAlnum(s: string, a: number, b: number): boolean {
  for (let i = a; i < b; i++) {
    const c = s.charCodeAt(i) | 0x20;
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a))) return false;
  }
  return true;
}

/** The placeholder for s[0, n) (a segment without its extension), or null when it stays: one pass over its characters. */
function stemRule(s: string, n: number): string | null {
  let digits = 0, hex = 0, letters = 0, token = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) {
      digits++;
      hex++;
      token++;
    } else {
      const l = c | 0x20;
      if (l >= 0x61 && l <= 0x7a) {
        letters++;
        token++;
        if (l <= 0x66) hex++;
      } else if (c === 0x2d || c === 0x5f) token++;
    }
  }
  if (digits === 0) return null;
  if (digits === n) return '{id}';
  if (n === 36 && hex === 32 && s[8] === '-' && s[13] === '-' && s[18] === '-' && s[23] === '-') return '{uuid}';
  if (n === 10 && digits === 8 && s[4] === '-' && s[7] === '-') return '{date}';
  if (n >= 16 && hex === n) return '{hex}';
  if (n >= 16 && token === n && letters > 0) return '{token}';
  return null;
}

/** The route of a request target as sent (null when there is none). */
export function routeOf(target: string | null): string | null {
  if (target === null) return null;
  let p = target;
  const q = p.search(/[?#]/);
  if (q >= 0) p = p.slice(0, q);
  const abs = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/]*/.exec(p);
  if (abs) p = p.slice(abs[0].length) || '/';
  if (!p.startsWith('/')) return p; // '*' (OPTIONS) or an authority (CONNECT)
  return p.split('/').map(segment).join('/');
}
