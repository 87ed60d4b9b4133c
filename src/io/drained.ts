/**
 * Resolves when a writable stream can take more ('drain'), or will never
 * take more ('close', 'error'): the one wait every writer here needs for
 * backpressure, without leaving listeners behind.
 */
export function drained(s: NodeJS.EventEmitter): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      s.off('drain', done);
      s.off('close', done);
      s.off('error', done);
      resolve();
    };
    s.on('drain', done);
    s.on('close', done);
    s.on('error', done);
  });
}
