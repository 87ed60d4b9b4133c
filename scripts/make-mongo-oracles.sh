#!/usr/bin/env bash
# Regenerates the tshark MongoDB dumps used by test/oracle.mongodb.test.ts:
# fixtures/pcaps/l7/<capture>.tshark-mongo.tsv, with the exact command in
# <capture>.tshark-mongo.cmd beside it. One row per frame tshark's `mongo`
# dissector reads (several messages in one frame joined by |): length,
# requestID, responseTo, opcode, namespace, compressor, numberReturned and
# every BSON element name (the first one of a request is its command).
# tshark 4.0 leaves 27017 to TLS on Debian, so every port is given with
# -d tcp.port==N,mongo. Needs tshark 4.0.x; deterministic.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
command -v tshark >/dev/null || { echo "make-mongo-oracles.sh: missing tshark" >&2; exit 1; }
export TZ=UTC LC_ALL=C
cd "$ROOT/fixtures/pcaps/l7"
for spec in deepflow__mongo.pcap:27017 deepflow__mongo-msg.pcap:3717 mongotools__compressed.pcap:27017 ../mongotools__op_command_2inserts.pcap:20000 ../ndpi__mongodb.pcap:27017,30000; do
  cap=${spec%%:*}
  ports=${spec#*:}
  name=$(basename "$cap")
  args=(-2 -n -r "$cap")
  for p in ${ports//,/ }; do args+=(-d "tcp.port==$p,mongo"); done
  args+=(-Y mongo -T fields -E header=y -E separator=/t -E occurrence=a -E 'aggregator=|'
    -e frame.number -e frame.time_epoch -e tcp.srcport -e tcp.dstport -e mongo.message_length -e mongo.request_id -e mongo.response_to
    -e mongo.opcode -e mongo.full_collection_name -e mongo.compression.compressor -e mongo.number_returned -e mongo.element.name)
  {
    tshark -v | head -1 | sed 's/^/# /'
    echo "# run in fixtures/pcaps/l7; output = $name.tshark-mongo.tsv"
    printf '%q ' tshark "${args[@]}"
    echo
  } > "$name.tshark-mongo.cmd"
  HOME=$(mktemp -d) tshark "${args[@]}" > "$name.tshark-mongo.tsv" 2>/dev/null
done
