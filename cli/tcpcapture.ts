#!/usr/bin/env -S node --max-semi-space-size=4 --heap-growing-percent=10
/**
 * tcpcapture: the live mode that writes archives the batch commands read.
 *
 *   tcpcapture packets --iface IF --output DIR   (tcpdump/dumpcap child, or `-` for a pcap pipe)
 *   tcpcapture sockets --output DIR              (kernel socket statistics over netlink sock_diag)
 *
 * Each subcommand lives in its own file (cli/_tcpcapture-packets.ts,
 * cli/_tcpcapture-sockets.ts) and sets the exit status through `status`.
 */
import { makeProgram, runMain } from './_common.js';
import { addPacketsCommand } from './_tcpcapture-packets.js';
import { addSocketsCommand } from './_tcpcapture-sockets.js';

const NAME = 'tcpcapture';

export interface SubcommandStatus {
  code: number;
}

runMain(NAME, async () => {
  const status: SubcommandStatus = { code: 0 };
  const program = makeProgram(NAME, 'Live capture that writes tcpkit and tcp-info archives: from packets (tcpdump/dumpcap or a pcap pipe) or from kernel socket statistics (netlink sock_diag).');
  addPacketsCommand(program, status);
  addSocketsCommand(program, status);
  program.addHelpText(
    'after',
    `
Examples:
  tcpcapture packets --iface eth0 --output /var/spool/tcpkit
  tcpdump -i eth0 -U -w - | tcpcapture packets - --output /var/spool/tcpkit
  tcpcapture sockets --output /var/spool/tcpinfo
Each subcommand has its own --help (tcpcapture packets --help).`,
  );
  await program.parseAsync(process.argv);
  return status.code;
});
