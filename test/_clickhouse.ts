/**
 * ClickHouse servers for the tests (bench/_clickhouse-server.ts starts them).
 *
 * `clickhouseSkip` is the reason to skip when the server is not installed;
 * under CI (CI=true) there is none: .ci/run installs it, and a missing
 * server fails the test.
 */
import { CLICKHOUSE_SERVER } from '../bench/_clickhouse-server.js';

export { CLICKHOUSE_SERVER, ClickHouseServer, LOADER_USER, allocPorts, freePort, type ServerPorts } from '../bench/_clickhouse-server.js';

/** Why the ClickHouse tests cannot run, or false. */
export const clickhouseSkip: string | false =
  CLICKHOUSE_SERVER !== null ? false : process.env['CI'] === 'true' ? false : 'clickhouse-server is not installed (apt-get install clickhouse-server; .ci/run installs it)';
