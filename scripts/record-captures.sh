#!/usr/bin/env bash
# Records the real captures in fixtures/pcaps/recorded/ (run as root; Debian tools:
# iproute2, ethtool, nftables, tcpdump, curl, python3, editcap/capinfos from tshark).
#
# Topology: two network namespaces joined by one veth pair
#   tcpkit-rec-cli: veth-cli 192.0.2.1/24 2001:db8::1/64   (client; all captures are taken here)
#   tcpkit-rec-srv: veth-srv 192.0.2.2/24 2001:db8::2/64   (servers)
# Only documentation addresses, only inside these namespaces; the namespaces have no other
# interface and no route anywhere else. Offloads are off on both ends so every segment on
# the wire is MSS-sized and checksums are computed in software.
#
# Scenarios (one file each, see fixtures/pcaps/README.md for what tshark sees in them):
#   http-clean-v4.pcap          python3 -m http.server + 3 curl GETs over IPv4 (1 MiB, 64 KiB, index)
#   http-clean-v6-nano.pcap     the same over IPv6, tcpdump --time-stamp-precision=nano
#   http-port-reuse.pcap        3 GETs from the same client port 40000 (same 4-tuple, new ISN each)
#   http-loss-netem.pcap        256 KiB GET over IPv4 with server-side egress impairment
#                               "loss 3% delay 20ms reorder 5% 50%" (tc netem; when the kernel has
#                               no sch_netem a userspace relay with the same semantics is used)
#   http-loss-netem-v6.pcap     the same GET over IPv6 through the same impairment
#   refused-timeout-unreach.pcap RST to a closed port (v4+v6), SYN dropped by nftables (client
#                               gives up after 3.5 s), nftables "reject with icmp(v6) type
#                               admin-prohibited" (v4+v6) and "reject with icmp type port-unreachable"
#   zero-window.pcap            256 KiB to a receiver with SO_RCVBUF=4096 that stalls 2 s, then
#                               12 times reads what is buffered and sleeps 0.35 s, then drains
#   udp.pcap                    UDP echo v4+v6 incl. 3000-byte datagrams (IP fragments both ways)
#                               and datagrams to a closed port (ICMP/ICMPv6 port unreachable)
#
# Idempotent: stale namespaces of an earlier aborted run are removed first; everything it
# creates (namespaces, processes, temp dir) is removed on exit by the trap.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${OUT:-$ROOT/fixtures/pcaps/recorded}
NS_C=tcpkit-rec-cli
NS_S=tcpkit-rec-srv
V_C=veth-cli
V_S=veth-srv
C4=192.0.2.1
S4=192.0.2.2
C6=2001:db8::1
S6=2001:db8::2
HTTP_PORT=8080
MAX_BYTES=${MAX_BYTES:-1500000}   # keep each capture below ~1.5 MB (cut with editcap -r)
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)

if [ "$(id -u)" != 0 ]; then echo "record-captures.sh: must run as root" >&2; exit 1; fi
for t in ip ethtool nft tcpdump curl editcap capinfos tc; do
  command -v "$t" >/dev/null || { echo "record-captures.sh: missing $t" >&2; exit 1; }
done
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

WORK=$(mktemp -d /tmp/tcpkit-rec.XXXXXX)
PIDS=()
CAP_PID=

log() { printf '[record] %s\n' "$*" >&2; }

kill_ns_procs() { # processes still living inside one of OUR namespaces (started by this script)
  local ns=$1 p
  ip netns list 2>/dev/null | grep -qw "^$ns" || return 0
  for p in $(ip netns pids "$ns" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
  sleep 0.2
  for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
}

cleanup() {
  local rc=$? p
  set +e
  [ -n "$CAP_PID" ] && kill -INT "$CAP_PID" 2>/dev/null
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  kill_ns_procs "$NS_C"; kill_ns_procs "$NS_S"
  ip netns del "$NS_C" 2>/dev/null
  ip netns del "$NS_S" 2>/dev/null
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

inc() { ip netns exec "$NS_C" "$@"; }
ins() { ip netns exec "$NS_S" "$@"; }

# ---------------------------------------------------------------- helper programs
cat >"$WORK/mkfiles.py" <<'EOF'
import random, sys, os
d = sys.argv[1]
os.makedirs(d, exist_ok=True)
r = random.Random(20240601)
open(os.path.join(d, 'big.bin'), 'wb').write(r.randbytes(1048576))
open(os.path.join(d, 'small.bin'), 'wb').write(r.randbytes(65536))
open(os.path.join(d, 'mid.bin'), 'wb').write(r.randbytes(262144))
open(os.path.join(d, 'index.html'), 'w').write('<html><body>tcpkit capture fixture</body></html>\n')
EOF

cat >"$WORK/probe.py" <<'EOF'
# connect(host, port) with a timeout; print what happened (used for RST / SYN drop / ICMP)
import socket, sys, time
host, port, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
fam = socket.AF_INET6 if ':' in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.settimeout(timeout)
t = time.time()
try:
    s.connect((host, port))
    print(f'{host}:{port} connected')
except Exception as e:
    print(f'{host}:{port} {type(e).__name__}: {e} after {time.time()-t:.2f}s')
finally:
    s.close()
EOF

cat >"$WORK/reuse_client.py" <<'EOF'
# N HTTP/1.0 GETs from the same local port; reads until the server closes first (so the client
# side never holds the 4-tuple in TIME_WAIT), then closes
import socket, sys, time
host, port, lport, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('0.0.0.0', lport))
    s.connect((host, port))
    s.sendall(f'GET /index.html HTTP/1.0\r\nHost: {host}\r\n\r\n'.encode())
    got = 0
    while True:
        b = s.recv(65536)
        if not b: break
        got += len(b)
    s.close()
    print(f'GET {i + 1} from port {lport}: {got} bytes', flush=True)
    time.sleep(0.2)
EOF

cat >"$WORK/zw_server.py" <<'EOF'
# accepts one connection and does not read for STALL seconds (zero window, window probes);
# then CYCLES times: read what is buffered, sleep PAUSE (window update, window full, zero window
# again, probes); then reads everything at full speed until EOF
import socket, sys, time
port, rcvbuf, stall, cycles, pause = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)   # set before listen: inherited
ls.bind(('0.0.0.0', port)); ls.listen(1)
print('ready', flush=True)
c, _ = ls.accept()
time.sleep(stall)
n = 0
for _ in range(cycles):
    b = c.recv(65536)
    if not b: break
    n += len(b)
    time.sleep(pause)
while True:
    b = c.recv(65536)
    if not b: break
    n += len(b)
c.close(); ls.close()
print('server read', n, flush=True)
EOF

cat >"$WORK/zw_client.py" <<'EOF'
import socket, sys
host, port, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.create_connection((host, port))
buf = bytes(range(256)) * 256
left = total
while left > 0:
    n = s.send(buf[:min(left, len(buf))])
    left -= n
s.shutdown(socket.SHUT_WR)
while s.recv(4096): pass
s.close()
print('client sent', total, flush=True)
EOF

cat >"$WORK/udp_echo.py" <<'EOF'
import socket, select, sys
port = int(sys.argv[1])
s4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s4.bind(('0.0.0.0', port))
s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1); s6.bind(('::', port))
print('ready', flush=True)
while True:
    r, _, _ = select.select([s4, s6], [], [])
    for s in r:
        data, addr = s.recvfrom(65535)
        s.sendto(data, addr)
EOF

cat >"$WORK/udp_client.py" <<'EOF'
import socket, sys, time
s4h, s6h, port, closed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
for fam, host in ((socket.AF_INET, s4h), (socket.AF_INET6, s6h)):
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(1.0)
    for i, size in enumerate((32, 200, 1000, 3000, 64)):
        s.sendto(bytes([65 + i]) * size, (host, port))
        try:
            s.recvfrom(65535)
        except socket.timeout:
            print('no echo', host, size)
        time.sleep(0.05)
    u = socket.socket(fam, socket.SOCK_DGRAM)       # to a closed port: ICMP port unreachable
    u.sendto(b'nobody listens here', (host, closed))
    time.sleep(0.2)
    u.close(); s.close()
print('udp done', flush=True)
EOF

cat >"$WORK/impair.py" <<'EOF'
# Userspace stand-in for "tc qdisc add dev veth-srv root netem loss L% delay Dms reorder R% C%"
# when the kernel has no sch_netem. The server's egress on veth-srv is redirected (tc mirred)
# to imp0; this relay reads the frames from imp0's peer imp1 and sends them out of veth-srv with
# PACKET_QDISC_BYPASS (so they are not redirected again). netem semantics: a frame is lost with
# probability L; otherwise it is sent at once with probability R - which puts it ahead of the
# frames still queued (reordering) - or after a delay of D ms. Correlation C is applied as "repeat
# the previous reorder decision with probability C" (a Markov chain whose marginal stays R and
# whose reorders come in bursts); netem's own formula, which averages the uniform draw with the
# previous one, makes a 5% reorder with 50% correlation almost never happen.
# Non-IP frames (ARP, NDP, ...) are passed at once without loss.
import heapq, random, select, signal, socket, sys, time
src, dst, loss, delay, reorder, corr, seed = sys.argv[1], sys.argv[2], float(sys.argv[3]) / 100, float(sys.argv[4]) / 1000, float(sys.argv[5]) / 100, float(sys.argv[6]) / 100, int(sys.argv[7])
rnd = random.Random(seed)
ETH_P_ALL, PACKET_OUTGOING, PACKET_QDISC_BYPASS = 3, 4, 20
rx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL)); rx.bind((src, 0))
tx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0); tx.bind((dst, 0))
tx.setsockopt(263, PACKET_QDISC_BYPASS, 1)  # SOL_PACKET = 263
last = False
def reorder_now():
    global last
    if rnd.random() >= corr:
        last = rnd.random() < reorder
    return last
q, n = [], 0
stats = dict(frames=0, lost=0, reordered=0, delayed=0)
def bye(*_):
    print('final', stats, flush=True); sys.exit(0)
signal.signal(signal.SIGTERM, bye)
print('ready', flush=True)
while True:
    timeout = max(0.0, q[0][0] - time.monotonic()) if q else 1.0
    r, _, _ = select.select([rx], [], [], timeout)
    if r:
        frame, addr = rx.recvfrom(65535)
        if addr[2] == PACKET_OUTGOING: continue
        stats['frames'] += 1
        et = frame[12:14]
        if et in (b'\x08\x00', b'\x86\xdd'):
            if rnd.random() < loss:
                stats['lost'] += 1; continue
            if reorder_now():
                stats['reordered'] += 1; tx.send(frame); continue
            stats['delayed'] += 1
            n += 1; heapq.heappush(q, (time.monotonic() + delay, n, frame))
        else:
            tx.send(frame)
    now = time.monotonic()
    while q and q[0][0] <= now:
        tx.send(heapq.heappop(q)[2])
    if stats['frames'] and stats['frames'] % 500 == 0 and r:
        print(stats, flush=True)
EOF

# ---------------------------------------------------------------- topology
setup() {
  local ns
  for ns in "$NS_C" "$NS_S"; do
    kill_ns_procs "$ns"
    ip netns del "$ns" 2>/dev/null || true
  done
  ip netns add "$NS_C"
  ip netns add "$NS_S"
  for ns in "$NS_C" "$NS_S"; do
    ip -n "$ns" link set lo up
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0 \
      net.ipv6.conf.default.router_solicitations=0 net.ipv6.conf.default.accept_ra=0 \
      net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0 net.ipv4.tcp_tw_reuse=1
  done
  ip link add "$V_C" netns "$NS_C" type veth peer name "$V_S" netns "$NS_S"
  ip -n "$NS_C" addr add "$C4/24" dev "$V_C"
  ip -n "$NS_S" addr add "$S4/24" dev "$V_S"
  ip -n "$NS_C" addr add "$C6/64" dev "$V_C" nodad
  ip -n "$NS_S" addr add "$S6/64" dev "$V_S" nodad
  inc ethtool -K "$V_C" tso off gso off gro off lro off tx off rx off >/dev/null 2>&1 || true
  ins ethtool -K "$V_S" tso off gso off gro off lro off tx off rx off >/dev/null 2>&1 || true
  ip -n "$NS_C" link set "$V_C" up
  ip -n "$NS_S" link set "$V_S" up
  local dev
  for ns in "$NS_C" "$NS_S"; do
    dev=$V_C; [ "$ns" = "$NS_S" ] && dev=$V_S
    if ip netns exec "$ns" ethtool -k "$dev" | grep -E '^(tcp-segmentation-offload|generic-segmentation-offload|generic-receive-offload|tx-checksumming|rx-checksumming): on'; then
      log "offloads still on for $dev"; exit 1
    fi
  done
  $PY "$WORK/mkfiles.py" "$WORK/www"
  # nftables in the server namespace (scenario c)
  ins nft -f - <<EOF
table inet tcpkit {
  chain input {
    type filter hook input priority 0; policy accept;
    tcp dport 9999 drop
    meta nfproto ipv4 tcp dport 9998 reject with icmp type admin-prohibited
    meta nfproto ipv6 tcp dport 9998 reject with icmpv6 type admin-prohibited
    meta nfproto ipv4 tcp dport 9997 reject with icmp type port-unreachable
  }
}
EOF
  # servers
  ins "$PY" -m http.server "$HTTP_PORT" --bind :: --directory "$WORK/www" >"$WORK/http.log" 2>&1 &
  PIDS+=($!)
  ins "$PY" -u "$WORK/udp_echo.py" 7777 >"$WORK/udp.log" 2>&1 &
  PIDS+=($!)
  local i
  for i in $(seq 100); do
    ins ss -ltn | grep -q ":$HTTP_PORT " && grep -q ready "$WORK/udp.log" && break
    sleep 0.1
  done
  sleep 2   # let link-up chatter (MLD, NDP) pass before the first capture
  # warm neighbour caches so captures do not all start with ARP/NDP
  inc ping -c1 -W1 "$S4" >/dev/null 2>&1 || true
  inc ping -c1 -W1 "$S6" >/dev/null 2>&1 || true
}

start_capture() { # file [tcpdump options]
  local f=$1; shift
  rm -f "$f"
  : >"$WORK/tcpdump.out"
  ip netns exec "$NS_C" tcpdump -Z root -U -n -i "$V_C" "$@" -w "$f" >"$WORK/tcpdump.out" 2>&1 &
  CAP_PID=$!
  local i
  for i in $(seq 100); do grep -q 'listening on' "$WORK/tcpdump.out" && break; sleep 0.05; done
  sleep 0.3
}

stop_capture() {
  sleep 0.8
  kill -INT "$CAP_PID"
  wait "$CAP_PID" || true
  CAP_PID=
  tail -n 3 "$WORK/tcpdump.out" | sed 's/^/[tcpdump] /' >&2
}

fit_size() { # cut a capture to the first N frames so it stays below MAX_BYTES
  local f=$1 size n
  size=$(stat -c %s "$f")
  [ "$size" -le "$MAX_BYTES" ] && return 0
  n=$($PY - "$f" "$MAX_BYTES" <<'EOF'
import struct, sys
f, lim = sys.argv[1], int(sys.argv[2])
d = open(f, 'rb').read()
le = d[:4] in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1')
fmt = '<IIII' if le else '>IIII'
off, n = 24, 0
while off + 16 <= len(d):
    incl = struct.unpack(fmt, d[off:off+16])[2]
    if off + 16 + incl > lim: break
    off += 16 + incl; n += 1
print(n, 'nsecpcap' if d[:4] in (b'\x4d\x3c\xb2\xa1', b'\xa1\xb2\x3c\x4d') else 'pcap')
EOF
)
  local fmt=${n#* }; n=${n% *}
  log "$(basename "$f") is $size bytes: keeping frames 1-$n (editcap -F $fmt -r)"
  editcap -F "$fmt" -r "$f" "$f.cut" "1-$n"
  mv "$f.cut" "$f"
}

http_get() { inc curl --noproxy '*' -sS -o /dev/null -w '%{http_code} %{size_download}B %{time_total}s\n' "$1" >&2; }

# ---------------------------------------------------------------- scenarios
scenario_clean() {
  log "(a) clean HTTP transfers"
  start_capture "$OUT/http-clean-v4.pcap"
  http_get "http://$S4:$HTTP_PORT/index.html"
  http_get "http://$S4:$HTTP_PORT/big.bin"
  http_get "http://$S4:$HTTP_PORT/small.bin"
  stop_capture
  start_capture "$OUT/http-clean-v6-nano.pcap" --time-stamp-precision=nano
  http_get "http://[$S6]:$HTTP_PORT/index.html"
  http_get "http://[$S6]:$HTTP_PORT/big.bin"
  http_get "http://[$S6]:$HTTP_PORT/small.bin"
  stop_capture
}

scenario_reuse() {
  log "(a2) the same 4-tuple three times (client port 40000)"
  start_capture "$OUT/http-port-reuse.pcap"
  inc "$PY" "$WORK/reuse_client.py" "$S4" "$HTTP_PORT" 40000 3 >&2
  stop_capture
}

scenario_loss() {
  log "(b) HTTP transfer with loss 3% delay 20ms reorder 5% 50% on the server side"
  local relay=
  if ins tc qdisc add dev "$V_S" root netem loss 3% delay 20ms reorder 5% 50% 2>"$WORK/tc.err"; then
    log "using tc netem"
  else
    log "tc netem unavailable ($(tr -d '\n' <"$WORK/tc.err")): using the userspace relay"
    ins ip link add imp0 type veth peer name imp1
    ins sysctl -qw net.ipv6.conf.imp0.disable_ipv6=1 net.ipv6.conf.imp1.disable_ipv6=1
    ins ethtool -K imp0 tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
    ins ethtool -K imp1 tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
    ins ip link set imp0 up
    ins ip link set imp1 up
    ins "$PY" -u "$WORK/impair.py" imp1 "$V_S" 3 20 5 50 7 >"$WORK/impair.log" 2>&1 &
    relay=$!; PIDS+=($relay)
    local i; for i in $(seq 50); do grep -q ready "$WORK/impair.log" && break; sleep 0.1; done
    ins tc qdisc add dev "$V_S" clsact
    ins tc filter add dev "$V_S" egress protocol all u32 match u32 0 0 action mirred egress redirect dev imp0
  fi
  start_capture "$OUT/http-loss-netem.pcap"
  http_get "http://$S4:$HTTP_PORT/mid.bin"
  stop_capture
  start_capture "$OUT/http-loss-netem-v6.pcap"
  http_get "http://[$S6]:$HTTP_PORT/mid.bin"
  stop_capture
  if [ -n "$relay" ]; then
    ins tc qdisc del dev "$V_S" clsact
    kill "$relay" 2>/dev/null || true; wait "$relay" 2>/dev/null || true
    sed 's/^/[impair] /' "$WORK/impair.log" | tail -n 2 >&2
    ins ip link del imp0
  else
    ins tc qdisc del dev "$V_S" root
  fi
}

scenario_refused() {
  log "(c) refused, SYN timeout, ICMP unreachable"
  start_capture "$OUT/refused-timeout-unreach.pcap"
  inc "$PY" "$WORK/probe.py" "$S4" 9 2 >&2      # closed port: RST/ACK
  sleep 0.3
  inc "$PY" "$WORK/probe.py" "$S6" 9 2 >&2
  sleep 0.3
  inc "$PY" "$WORK/probe.py" "$S4" 9999 3.5 >&2 # SYN dropped by nft: SYN + 2 retransmissions, then the client gives up
  sleep 0.3
  inc "$PY" "$WORK/probe.py" "$S4" 9998 2 >&2   # nft reject with icmp type admin-prohibited
  sleep 0.3
  inc "$PY" "$WORK/probe.py" "$S6" 9998 2 >&2   # nft reject with icmpv6 type admin-prohibited
  sleep 0.3
  inc "$PY" "$WORK/probe.py" "$S4" 9997 2 >&2   # nft reject with icmp type port-unreachable
  stop_capture
}

scenario_zero_window() {
  log "(d) zero window"
  ins "$PY" -u "$WORK/zw_server.py" 5001 4096 2.0 12 0.35 >"$WORK/zw.log" 2>&1 &
  local srv=$!; PIDS+=($srv)
  local i; for i in $(seq 50); do grep -q ready "$WORK/zw.log" && break; sleep 0.1; done
  start_capture "$OUT/zero-window.pcap"
  inc "$PY" "$WORK/zw_client.py" "$S4" 5001 262144 >&2
  wait "$srv" || true
  cat "$WORK/zw.log" >&2
  stop_capture
}

scenario_udp() {
  log "(e) UDP"
  start_capture "$OUT/udp.pcap"
  inc "$PY" "$WORK/udp_client.py" "$S4" "$S6" 7777 7778 >&2
  stop_capture
}

# SCENARIOS="clean reuse loss refused zero_window udp" (default: all) re-records only those files
SCENARIOS=${SCENARIOS:-clean reuse loss refused zero_window udp}
mkdir -p "$OUT"
setup
for s in $SCENARIOS; do "scenario_$s"; done
for f in "$OUT"/*.pcap; do fit_size "$f"; done
ls -l "$OUT" >&2
log "done"
