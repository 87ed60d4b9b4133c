/** Filter languages over records: tcpeek `-f` filters, DataDog exclusion lists, `--where`. */
export { type Cidr, CidrSet, parseCidr } from './cidr.js';
export { parseFilter, parseFilters, parseLocal, direction, FilterSet, DEFAULT_FILTERS, type Dir, type Direction, type TcpeekFilter, type AddrGroup } from './tcpeek.js';
export { parseExclusions, Exclusions, type ExclusionRule, type PortRule } from './exclusions.js';
export { compileWhere, compare, WHERE_FIELDS, type Predicate, type CmpOp } from './where.js';
