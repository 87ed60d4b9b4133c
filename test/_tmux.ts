/**
 * A real terminal for tests: a detached tmux session of a given size on its
 * own server socket, where a shell line is typed (`send-keys`) and the
 * screen read back (`capture-pane`). Tests skip with the reason when tmux is
 * not installed.
 */
import { spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

export const TMUX_MISSING: string | false = spawnSync('tmux', ['-V'], { encoding: 'utf8' }).status === 0 ? false : 'tmux is not installed (apt-get install tmux; .ci/run installs it as root)';

let serial = 0;

export class Terminal {
  private readonly socket: string;
  private readonly session = 'tcpkit';

  private constructor(socket: string) {
    this.socket = socket;
  }

  /** A terminal of `columns` x `rows` running bash without a profile, in `cwd`. */
  static open(columns: number, rows: number, cwd: string): Terminal {
    const t = new Terminal(`tcpkit-test-${process.pid}-${serial++}`);
    const r = t.tmux(['new-session', '-d', '-s', t.session, '-x', String(columns), '-y', String(rows), '-c', cwd, 'env', 'PS1=$ ', 'TERM=xterm-256color', 'bash', '--norc', '--noprofile']);
    if (r.status !== 0) throw new Error(`tmux new-session failed: ${r.stderr}`);
    // a large window even where tmux's default-size option would shrink it
    t.tmux(['resize-window', '-t', t.session, '-x', String(columns), '-y', String(rows)]);
    return t;
  }

  private tmux(args: string[]): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync('tmux', ['-L', this.socket, '-f', '/dev/null', ...args], { encoding: 'utf8' });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  /** Types a line and presses Enter. */
  type(line: string): void {
    this.tmux(['send-keys', '-t', this.session, '-l', line]);
    this.tmux(['send-keys', '-t', this.session, 'Enter']);
  }

  /** Presses a key (tmux key name: C-c, C-d, Enter). */
  key(name: string): void {
    this.tmux(['send-keys', '-t', this.session, name]);
  }

  /** The screen and its scrollback, lines without trailing blanks (-J joins lines the terminal wrapped). */
  screen(joinWrapped = false): string[] {
    const r = this.tmux(['capture-pane', '-p', '-t', this.session, '-S', '-2000', ...(joinWrapped ? ['-J'] : [])]);
    return r.stdout.replace(/\n+$/, '').split('\n').map((l) => l.replace(/\s+$/, ''));
  }

  /** Waits until a screen line (wrapped lines joined) matches `re` (polling), or throws with the screen after `timeoutMs`. */
  async waitFor(re: RegExp, timeoutMs = 30_000): Promise<string[]> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const s = this.screen(true);
      if (s.some((l) => re.test(l))) return s;
      if (Date.now() > end) throw new Error(`timed out waiting for ${re} on the terminal:\n${s.join('\n')}`);
      await sleep(100);
    }
  }

  close(): void {
    this.tmux(['kill-server']);
  }
}
