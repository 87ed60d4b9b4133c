/**
 * linux/sock_diag.h: the SK_MEMINFO_* array carried by INET_DIAG_SKMEMINFO
 * (u32[SK_MEMINFO_VARS], 9 values = 36 bytes; 8 on very old kernels).
 * The CSV column for sndbuf is `SKMemInfo.Sndbug` (tag typo in tcp-info).
 */
import { U32, defineStruct } from './layout.js';

export const SK_MEMINFO = defineStruct('SocketMemInfo', 36, 'SKMemInfo', [
  ['RmemAlloc', 0, U32], // SK_MEMINFO_RMEM_ALLOC
  ['Rcvbuf', 4, U32], // SK_MEMINFO_RCVBUF
  ['WmemAlloc', 8, U32], // SK_MEMINFO_WMEM_ALLOC
  ['Sndbuf', 12, U32, 'Sndbug'], // SK_MEMINFO_SNDBUF
  ['FwdAlloc', 16, U32], // SK_MEMINFO_FWD_ALLOC
  ['WmemQueued', 20, U32], // SK_MEMINFO_WMEM_QUEUED
  ['Optmem', 24, U32], // SK_MEMINFO_OPTMEM
  ['Backlog', 28, U32], // SK_MEMINFO_BACKLOG
  ['Drops', 32, U32], // SK_MEMINFO_DROPS
]);
