/**
 * Shared plumbing for the commands in cli/: the only place (with the command
 * files) that touches process.argv, process.exit, stdout and stderr.
 *
 * - `makeProgram()` returns a commander program whose usage errors are thrown
 *   (exitOverride) instead of exiting, so `runMain` can map them to exit 2.
 * - `runMain()` runs a command's async main and turns its outcome into an exit
 *   status: 0 ok, 1 data error, 2 usage error. A ToolError prints one line
 *   `<cmd>: <where>: <message> [CODE]`; no stack trace for user errors
 *   (set TCPKIT_DEBUG=1 to see stacks of unexpected errors).
 * - EPIPE on stdout (the reader went away, `| head`) ends the process with 0.
 */
import { readFileSync } from 'node:fs';
import { isatty } from 'node:tty';
import { constants } from 'node:os';
import { Command, CommanderError } from 'commander';
import { EXIT_DATA, EXIT_OK, EXIT_USAGE, UsageError, isToolError } from '../src/util/errors.js';

/** Version from package.json (dist/cli/_common.js -> ../../package.json). */
export function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** A commander program that throws on usage errors and writes errors to stderr. */
export function makeProgram(name: string, description: string): Command {
  const program = new Command(name);
  program
    .description(description)
    .version(`${name} (tcpkit) ${packageVersion()}`, '-V, --version', 'print the version and exit')
    .helpOption('-h, --help', 'print this help and exit')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => process.stdout.write(s),
      writeErr: (s) => process.stderr.write(s),
      outputError: (s, write) => write(s.startsWith('error:') ? `${name}: ${s}` : s),
    });
  return program;
}

/**
 * Reading stdin at a terminal: with no file given, a usage error that says
 * what to give (nobody types a capture); with an explicit `-`, a note on
 * stderr that the command waits for input there.
 */
export function checkTerminalInput(name: string, files: readonly string[], what: string, example: string): void {
  const implicit = files.length === 0;
  if (!implicit && !files.includes('-')) return;
  if (!isatty(0)) return;
  if (implicit) throw new UsageError('USAGE_NO_INPUT', `no input: give ${what} as an argument or on a pipe (${example})`);
  warn(`${name}: reading ${what} from the terminal: end it with Ctrl-D, stop with Ctrl-C`);
}

/** The error a read gets when the signal handler closed stdin under it. */
export function isPrematureClose(e: unknown): boolean {
  return (e as NodeJS.ErrnoException | null)?.code === 'ERR_STREAM_PREMATURE_CLOSE';
}

/**
 * Lets a signal that arrived with the end of stdin run its handler first:
 * Ctrl-C on `sleep 30 | cmd` ends the pipe (sleep dies) in the same instant,
 * and the end of input may be seen before the signal. Used only when stdin
 * ended with no data, to tell an interrupt from an empty input.
 */
export async function letSignalsArrive(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 50));
}

/** The width of the terminal stdout shows (80 when it does not say). */
export function terminalWidth(): number {
  const c = process.stdout.columns;
  return typeof c === 'number' && c > 0 ? c : 80;
}

/** Writes one line to stderr. */
export function warn(line: string): void {
  process.stderr.write(line.endsWith('\n') ? line : line + '\n');
}

/**
 * The signals that stop a command the way Ctrl-C does: reading stops, the
 * complete records are written, an output file is committed (see each
 * command's help). SIGKILL cannot be caught: the next run that writes into
 * the same directory removes the temporary file it leaves (src/io/atomic.ts).
 */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Calls `onStop` at the first stop signal; a second one exits at once with
 * 128 + its number (exit handlers still remove temporary files). Returns a
 * function that removes the handlers.
 */
export function onStopSignals(onStop: (signal: NodeJS.Signals) => void): () => void {
  let stopped = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (stopped) process.exit(128 + (constants.signals[signal] ?? 2));
    stopped = true;
    onStop(signal);
  };
  for (const s of STOP_SIGNALS) process.on(s, handler);
  return () => {
    for (const s of STOP_SIGNALS) process.off(s, handler);
  };
}

let epipeInstalled = false;

/** Makes EPIPE on stdout a quiet, successful exit (`cmd | head`). */
export function exitQuietlyOnEpipe(): void {
  if (epipeInstalled) return;
  epipeInstalled = true;
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') process.exit(EXIT_OK);
    warn(`stdout: ${e.message}`);
    process.exit(EXIT_DATA);
  });
}

/**
 * Runs `main` and exits with its status. Errors: ToolError → its exit code
 * and one stderr line; CommanderError → 0 for --help/--version, else 2;
 * anything else → 1 with the message (stack only with TCPKIT_DEBUG=1).
 */
export function runMain(name: string, main: () => Promise<number>): void {
  exitQuietlyOnEpipe();
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.exitCode = exitCodeFor(name, e);
    },
  );
}

function exitCodeFor(name: string, e: unknown): number {
  if (e instanceof CommanderError) {
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT_OK;
    return EXIT_USAGE; // commander already printed the message
  }
  if (isToolError(e)) {
    warn(`${name}: ${e.describe()}`);
    return e.exitCode;
  }
  const err = e as NodeJS.ErrnoException;
  if (err && (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED')) return EXIT_OK;
  warn(`${name}: internal error: ${err instanceof Error ? err.message : String(e)}`);
  if (process.env['TCPKIT_DEBUG'] === '1' && err instanceof Error && err.stack) warn(err.stack);
  return EXIT_DATA;
}
