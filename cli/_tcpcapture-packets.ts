/** tcpcapture packets: to be written (issue 6). */
import type { Command } from 'commander';
import { UsageError } from '../src/util/errors.js';
import type { SubcommandStatus } from './tcpcapture.js';

export function addPacketsCommand(program: Command, status: SubcommandStatus): void {
  program
    .command('packets')
    .description('(not yet available)')
    .action(() => {
      status.code = 2;
      throw new UsageError('NOT_AVAILABLE', 'tcpcapture packets is not available yet');
    });
}
