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
 * | 16 or more hex digits (a hash, an object id) | `{hex}` |
 * | 16 or more letters, digits, `-` or `_` with at least one digit and one letter (a token) | `{token}` |
 * | more than 64 characters | `{long}` |
 * | anything else | itself |
 *
 * A segment with a file extension (`.png`, up to 5 letters or digits) is
 * judged without it and keeps it: `5d41...592.png` -> `{hex}.png`.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const HEX = /^[0-9a-f]{16,}$/i;
const TOKEN = /^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9_-]{16,}$/;

function segment(s: string): string {
  if (s === '') return s;
  const ext = /\.[A-Za-z0-9]{1,5}$/.exec(s);
  if (ext && ext.index > 0) {
    const stem = stemRule(s.slice(0, ext.index));
    return stem === null ? s : stem + ext[0];
  }
  return stemRule(s) ?? (s.length > 64 ? '{long}' : s);
}

/** The placeholder for a segment (without extension), or null when it stays. */
function stemRule(s: string): string | null {
  if (/^\d+$/.test(s)) return '{id}';
  if (UUID.test(s)) return '{uuid}';
  if (DATE.test(s)) return '{date}';
  if (HEX.test(s)) return '{hex}';
  if (TOKEN.test(s)) return '{token}';
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
