/**
 * What the redis record says about a command beyond its name: Zeek's key and
 * value positions (src/analyzer/protocol/redis/redis.spicy, parse_command:
 * the commands Zeek knows, and which argument is the key and which the
 * value), the commands of pub/sub, and the key pattern used for digests.
 */

/** Commands whose first argument Zeek logs as cmd.key. */
const ZEEK_KEY1 = new Set([
  'KEYS', 'APPEND', 'BITCOUNT', 'BITFIELD', 'BITFIELD_RO', 'BITPOS', 'BLPOP', 'BRPOP', 'COPY', 'DECR', 'DECRBY', 'DEL', 'DUMP',
  'EXISTS', 'EXPIRE', 'EXPIREAT', 'EXPIRETIME', 'GET', 'GETBIT', 'GETDEL', 'GETEX', 'GETRANGE', 'GETSET', 'HDEL', 'HGET', 'HSET',
  'INCR', 'INCRBY', 'MGET', 'MOVE', 'MSET', 'PERSIST', 'RENAME', 'SET', 'STRLEN', 'TTL', 'TYPE',
]);

/** Commands whose second argument Zeek logs as cmd.value. */
const ZEEK_VALUE2 = new Set(['SET', 'APPEND', 'DECRBY', 'EXPIRE', 'EXPIREAT', 'GETBIT', 'GETSET', 'HDEL', 'HGET', 'INCRBY', 'MOVE', 'MSET', 'RENAME']);

/** Zeek's cmd.key of a command (upper-case name, words after it: args[1..3]), or null. */
export function zeekKey(name: string, args: readonly (string | null)[], words: number): string | null {
  if (words >= 2 && ZEEK_KEY1.has(name)) return args[1] ?? null;
  if (words >= 3 && name === 'BITOP') return args[2] ?? null;
  if (words >= 4 && name === 'BLMPOP') return args[3] ?? null;
  return null;
}

/** Zeek's cmd.value of a command, or null. */
export function zeekValue(name: string, args: readonly (string | null)[], words: number): string | null {
  return words >= 3 && ZEEK_VALUE2.has(name) ? (args[2] ?? null) : null;
}

/** Commands that subscribe (their replies are one confirmation per channel). */
export const SUBSCRIBE = new Set(['SUBSCRIBE', 'PSUBSCRIBE', 'SSUBSCRIBE']);
/** Commands that unsubscribe (without arguments: from every channel, one confirmation each). */
export const UNSUBSCRIBE = new Set(['UNSUBSCRIBE', 'PUNSUBSCRIBE', 'SUNSUBSCRIBE']);
/** First elements of subscription confirmations. */
export const CONFIRMATION_KINDS = new Set(['subscribe', 'psubscribe', 'ssubscribe', 'unsubscribe', 'punsubscribe', 'sunsubscribe']);
/** First elements of published messages. */
export const MESSAGE_KINDS = new Set(['message', 'pmessage', 'smessage']);

/** Commands whose arguments are credentials: no key is taken from them. */
const SECRET = new Set(['AUTH']);

/** The record's key (the first argument), or null. */
export function firstArgument(name: string, args: readonly (string | null)[], words: number): string | null {
  return words >= 2 && !SECRET.has(name) ? (args[1] ?? null) : null;
}

/** A key with every run of ASCII digits replaced by `?` (user:123:cart becomes user:?:cart). */
export function keyPattern(key: string | null): string | null {
  if (key === null) return null;
  let digits = false;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) {
      digits = true;
      break;
    }
  }
  return digits ? key.replace(/[0-9]+/g, '?') : key;
}
