/**
 * The small pieces of tcpcapture packets on their own: the capture tools'
 * statistics lines (as tcpdump 4.99 and dumpcap 4.0 print them), archive
 * file names, the tools' command lines, and the PATH lookup.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { emptyDrops, parseStatsLine } from '../src/live/tool-stats.js';
import { archiveFileName } from '../src/live/rotating-archive.js';
import { findExecutable, toolArgs } from '../src/live/child.js';
import { makeTempDir } from './_capture-helpers.js';

test('tcpdump and dumpcap statistics lines are read into the drop counters, and only they are taken as statistics', () => {
  const cases: [string[], { received: number; kernel: number; interface: number }, boolean[]][] = [
    // tcpdump at exit (print_stats)
    [['120 packets captured', '130 packets received by filter', '10 packets dropped by kernel'], { received: 130, kernel: 10, interface: 0 }, [true, true, true]],
    [['1 packet captured', '1 packet received by filter', '0 packets dropped by kernel', '4 packets dropped by interface'], { received: 1, kernel: 0, interface: 4 }, [true, true, true, true]],
    // tcpdump on SIGUSR1 (one line)
    [['tcpdump: 35 packets captured, 40 packets received by filter, 5 packets dropped by kernel'], { received: 40, kernel: 5, interface: 0 }, [true]],
    // dumpcap at exit
    [
      ['\rPackets captured: 2', "Packets received/dropped on interface 'Loopback: lo': 12/3 (pcap:2/dumpcap:0/flushed:0/ps_ifdrop:1) (75.0%)"],
      { received: 12, kernel: 2, interface: 1 },
      [true, true],
    ],
    // not statistics
    [['tcpdump: listening on eth0, link-type EN10MB (Ethernet), snapshot length 262144 bytes', "Capturing on 'eth0'", 'File: -'], { received: 0, kernel: 0, interface: 0 }, [false, false, false]],
  ];
  for (const [lines, want, isStats] of cases) {
    const d = emptyDrops();
    assert.deepEqual(
      lines.map((l) => parseStatsLine(l, d)),
      isStats,
      lines[0],
    );
    assert.deepEqual(d, want, lines[0]);
  }
});

test('archive files are named by their start in UTC with nanoseconds, in a folder per day', () => {
  assert.equal(archiveFileName('conns', 1_395_939_399, 984_671_000), '2014/03/27/conns_20140327T165639.984671000Z.jsonl.zst');
  assert.equal(archiveFileName('flows', 0, 0), '1970/01/01/flows_19700101T000000.000000000Z.jsonl.zst');
  assert.equal(archiveFileName('conns', 1_709_251_199, 999_999_999), '2024/02/29/conns_20240229T235959.999999999Z.jsonl.zst');
});

test('the tools are run with the capture to stdout, nanosecond pcap (tcpdump) or pcapng (dumpcap), the snap length and the filter', () => {
  assert.deepEqual(toolArgs('tcpdump', { iface: 'eth0' }), ['-i', 'eth0', '-U', '-w', '-', '--time-stamp-precision=nano']);
  assert.deepEqual(toolArgs('tcpdump', { iface: 'eth0', snaplen: 128, bpf: 'tcp and port 80' }), ['-i', 'eth0', '-U', '-w', '-', '--time-stamp-precision=nano', '-s', '128', 'tcp and port 80']);
  assert.deepEqual(toolArgs('dumpcap', { iface: 'eth0', snaplen: 96, bpf: 'tcp' }), ['-i', 'eth0', '-w', '-', '-q', '-s', '96', '-f', 'tcp']);
});

test('the PATH lookup takes the first executable file and skips folders, missing and non-executable entries', () => {
  const { dir, cleanup } = makeTempDir('tcpcapture-path-');
  try {
    for (const d of ['a', 'b', 'c', 'd']) mkdirSync(join(dir, d));
    mkdirSync(join(dir, 'a', 'tcpdump')); // a folder of that name
    writeFileSync(join(dir, 'b', 'tcpdump'), '#!/bin/sh\n'); // not executable
    chmodSync(join(dir, 'b', 'tcpdump'), 0o644);
    writeFileSync(join(dir, 'd', 'tcpdump'), '#!/bin/sh\n');
    chmodSync(join(dir, 'd', 'tcpdump'), 0o755);
    const path = ['', join(dir, 'a'), join(dir, 'b'), join(dir, 'c'), join(dir, 'd')].join(':');
    // root may execute a 0644 file per access(2) only if some x bit is set: none is, so b is skipped for everyone
    assert.equal(findExecutable('tcpdump', path), join(dir, 'd', 'tcpdump'));
    assert.equal(findExecutable('dumpcap', path), null);
  } finally {
    cleanup();
  }
});
