// GPU type names: vendors report "NVIDIA H100 80GB HBM3" or "NVIDIA A100-SXM4-80GB"; prices, reservations and
// capacity profiles speak of `H100` and `A100-80GB`. One normalised name per type that prices differently.

/** Default target utilization of a GPU type or capacity profile: headroom for latency. */
export const DEFAULT_TARGET_UTILIZATION = 0.8;

export interface KnownGpuType {
  name: string;
  memory_gib: number;
  target_utilization: number;
}

/** The GPU types this product knows by name, with their memory and the default target utilization. */
export const KNOWN_GPU_TYPES: readonly KnownGpuType[] = [
  { name: 'B200', memory_gib: 180, target_utilization: DEFAULT_TARGET_UTILIZATION },
  { name: 'H200', memory_gib: 141, target_utilization: DEFAULT_TARGET_UTILIZATION },
  { name: 'H100', memory_gib: 80, target_utilization: DEFAULT_TARGET_UTILIZATION },
  { name: 'A100-80GB', memory_gib: 80, target_utilization: DEFAULT_TARGET_UTILIZATION },
  { name: 'A100-40GB', memory_gib: 40, target_utilization: DEFAULT_TARGET_UTILIZATION },
  { name: 'L40S', memory_gib: 48, target_utilization: DEFAULT_TARGET_UTILIZATION },
  { name: 'L40', memory_gib: 48, target_utilization: DEFAULT_TARGET_UTILIZATION },
  { name: 'L4', memory_gib: 24, target_utilization: DEFAULT_TARGET_UTILIZATION },
  { name: 'A10G', memory_gib: 24, target_utilization: DEFAULT_TARGET_UTILIZATION },
  { name: 'A10', memory_gib: 24, target_utilization: DEFAULT_TARGET_UTILIZATION },
  { name: 'T4', memory_gib: 16, target_utilization: DEFAULT_TARGET_UTILIZATION },
  { name: 'RTX-4090', memory_gib: 24, target_utilization: DEFAULT_TARGET_UTILIZATION },
];

const byName = new Map(KNOWN_GPU_TYPES.map((t) => [t.name, t]));

/** The known type of a normalised name, or undefined. */
export function knownGpuType(name: string): KnownGpuType | undefined {
  return byName.get(name);
}

// Words that say nothing about which type it is. "NVIDIA" alone is stripped from unknown names too.
const BRANDS = new Set(['NVIDIA', 'GEFORCE', 'TESLA', 'QUADRO']);

/**
 * The normalised GPU type of a vendor name: `NVIDIA H100 80GB HBM3` → `H100`, `NVIDIA A100 80GB PCIe` →
 * `A100-80GB`, `NVIDIA GeForce RTX 4090` → `RTX-4090`; a normalised name is returned unchanged.
 *
 * The name is split into upper-cased words at every character other than a letter or digit, and the words
 * decide: every H100 form factor (SXM, PCIe, NVL) is `H100`; an A100 needs its memory (`80GB`/`40GB`) to be
 * typed; L40S, L40 and L4 are told apart by whole words, so `GH200` is not `H200`.
 * An unknown name becomes its words without "NVIDIA" joined by '-', upper-cased ("NVIDIA GH200 480GB" →
 * `GH200-480GB`, "Tesla V100-SXM2-16GB" → `TESLA-V100-SXM2-16GB`), so that normalising is idempotent and
 * the result fits the gpu_types.name pattern. A name with no letter or digit besides "NVIDIA" gives ''.
 */
export function normalizeGpuType(vendorName: string): string {
  const words = vendorName.toUpperCase().split(/[^A-Z0-9]+/).filter((w) => w !== '');
  const meaningful = words.filter((w) => !BRANDS.has(w));
  const has = (w: string) => meaningful.includes(w);

  if (has('B200')) return 'B200';
  if (has('H200')) return 'H200';
  if (has('H100')) return 'H100';
  if (has('A100')) {
    if (has('80GB')) return 'A100-80GB';
    if (has('40GB')) return 'A100-40GB';
  }
  if (has('L40S')) return 'L40S';
  if (has('L40')) return 'L40';
  if (has('L4')) return 'L4';
  if (has('A10G')) return 'A10G';
  if (has('A10')) return 'A10';
  if (has('T4')) return 'T4';
  const rtx = meaningful.indexOf('RTX');
  if (rtx >= 0 && /^\d{4}$/.test(meaningful[rtx + 1] ?? '') && meaningful.length === rtx + 2) {
    return `RTX-${meaningful[rtx + 1]}`;
  }
  return words.filter((w) => w !== 'NVIDIA').join('-');
}

/** The form a vendor name is kept under in gpu_type_aliases: trimmed, single-spaced, lower-cased. */
export function gpuTypeAlias(vendorName: string): string {
  return vendorName.trim().replace(/\s+/g, ' ').toLowerCase();
}
