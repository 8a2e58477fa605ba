// This process's peak resident memory. Linux's getrusage() `maxrss` also counts the parent's memory at fork
// (exec keeps the old image's high-water mark), so a process started by a large one reports the parent's size;
// VmHWM in /proc/self/status is the high-water mark of this process's own memory.
import { readFileSync } from 'node:fs';

export function peakRssMb(): number {
  try {
    const kb = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (kb) return Number(kb) / 1024;
  } catch {
    // Not Linux: getrusage is the best there is.
  }
  return process.resourceUsage().maxRSS / 1024;
}
