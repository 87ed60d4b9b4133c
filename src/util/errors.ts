/**
 * One error type for everything a user can cause: bad input data or bad usage.
 * Each error has a stable `code` (for tests and scripts), an exit status
 * (1 = data error, 2 = usage error) and optional context naming where the
 * problem is: file, packet/record/line number and byte offset.
 * Modelled on undici's `lib/core/errors.js` and csv-parse's `CsvError`.
 */

export interface ErrorContext {
  file?: string;
  /** 1-based packet number (captures). */
  packet?: number;
  /** 1-based block number (pcapng). */
  block?: number;
  /** 1-based line number (JSONL / NDJSON). */
  line?: number;
  /** Byte offset inside the (decompressed) input. */
  offset?: number;
  /** 1-based column inside an expression or a line. */
  column?: number;
}

export const EXIT_OK = 0;
export const EXIT_DATA = 1;
export const EXIT_USAGE = 2;

export class ToolError extends Error {
  readonly code: string;
  readonly exitCode: number;
  readonly context: ErrorContext;

  constructor(code: string, message: string, context: ErrorContext = {}, exitCode = EXIT_DATA) {
    super(message);
    this.name = 'ToolError';
    this.code = code;
    this.context = context;
    this.exitCode = exitCode;
  }

  /** One line: `file: packet 12 (offset 0x1a2b): message [CODE]`. */
  describe(): string {
    return `${formatWhere(this.context)}${this.message} [${this.code}]`;
  }
}

export class UsageError extends ToolError {
  constructor(code: string, message: string, context: ErrorContext = {}) {
    super(code, message, context, EXIT_USAGE);
    this.name = 'UsageError';
  }
}

export function formatWhere(c: ErrorContext): string {
  const parts: string[] = [];
  if (c.packet !== undefined) parts.push(`packet ${c.packet}`);
  if (c.block !== undefined) parts.push(`block ${c.block}`);
  if (c.line !== undefined) parts.push(`line ${c.line}`);
  // a column inside a located line; an expression's column is in its message ("at column 5")
  if (c.column !== undefined && (c.file !== undefined || c.line !== undefined)) parts.push(`column ${c.column}`);
  let where = c.file ?? '';
  if (parts.length > 0) where += (where ? ': ' : '') + parts.join(', ');
  if (c.offset !== undefined) where += ` (offset ${c.offset} = 0x${c.offset.toString(16)})`;
  return where ? `${where}: ` : '';
}

export function isToolError(e: unknown): e is ToolError {
  return e instanceof ToolError;
}
