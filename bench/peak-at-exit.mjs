// Preloaded into a measured command (`node --import ./bench/peak-at-exit.mjs …`): as the process exits, writes its
// peak resident memory (the kernel's VmHWM, in kB) to file descriptor 3, which the benchmark reads.
import { readFileSync, writeSync } from 'node:fs';

process.on('exit', () => {
  // Nothing when the kernel does not say: the benchmark then fails rather than report 0 MB.
  const kb = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  if (kb) writeSync(3, `${kb}\n`);
});
