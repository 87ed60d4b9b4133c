/**
 * Who is the client when no SYN says so: the port heuristic of goProbe
 * (`capturetypes/classify.go`) and DataDog (`SPortIsEphemeral`): a
 * well-known port (< 1024) is the server; otherwise an ephemeral port
 * (>= 32768, or 0) is the client; when both are in the same class the lower
 * port is the server. Returns 1 when the source is the client, -1 when the
 * destination is, 0 when the ports cannot tell.
 */
export function clientByPorts(sport: number, dport: number): number {
  if (sport === dport) return 0;
  const sWell = sport < 1024, dWell = dport < 1024;
  if (sWell !== dWell) return dWell ? 1 : -1;
  const sEph = sport >= 32768 || sport === 0, dEph = dport >= 32768 || dport === 0;
  if (sEph !== dEph) return sEph ? 1 : -1;
  return sport > dport ? 1 : -1;
}
