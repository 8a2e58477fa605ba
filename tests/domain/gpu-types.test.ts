import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KNOWN_GPU_TYPES, gpuTypeAlias, knownGpuType, normalizeGpuType } from '../../app/domain/gpu-types.js';

describe('normalizeGpuType', () => {
  it.each([
    ['NVIDIA H100 80GB HBM3', 'H100'],
    ['NVIDIA H100 PCIe', 'H100'],
    ['NVIDIA H100 NVL', 'H100'],
    ['NVIDIA H200', 'H200'],
    ['NVIDIA A100-SXM4-80GB', 'A100-80GB'],
    ['NVIDIA A100 80GB PCIe', 'A100-80GB'],
    ['NVIDIA A100-SXM4-40GB', 'A100-40GB'],
    ['NVIDIA A100-PCIE-40GB', 'A100-40GB'],
    ['NVIDIA L40S', 'L40S'],
    ['NVIDIA L40', 'L40'],
    ['NVIDIA L4', 'L4'],
    ['NVIDIA GeForce RTX 4090', 'RTX-4090'],
    ['NVIDIA B200', 'B200'],
    ['NVIDIA A10G', 'A10G'],
    ['Tesla T4', 'T4'],
    ['  nvidia   h100  ', 'H100'],
  ])('%s → %s', (vendor, expected) => {
    expect(normalizeGpuType(vendor)).toBe(expected);
  });

  it('leaves normalised names unchanged', () => {
    for (const t of KNOWN_GPU_TYPES) expect(normalizeGpuType(t.name)).toBe(t.name);
  });

  it('sanitises unknown names: NVIDIA stripped, words joined by "-", upper-cased', () => {
    expect(normalizeGpuType('NVIDIA GH200 480GB')).toBe('GH200-480GB');
    expect(normalizeGpuType('Tesla V100-SXM2-16GB')).toBe('TESLA-V100-SXM2-16GB');
    expect(normalizeGpuType('NVIDIA RTX 6000 Ada Generation')).toBe('RTX-6000-ADA-GENERATION');
    expect(normalizeGpuType('mi300x')).toBe('MI300X');
    expect(normalizeGpuType('NVIDIA A100-SXM4')).toBe('A100-SXM4');
    expect(normalizeGpuType('NVIDIA')).toBe('');
    expect(normalizeGpuType('  ')).toBe('');
  });

  it('is idempotent and always fits the gpu_types.name pattern', () => {
    fc.assert(
      fc.property(fc.string(), (name) => {
        const once = normalizeGpuType(name);
        expect(normalizeGpuType(once)).toBe(once);
        if (once !== '') expect(once).toMatch(/^[A-Za-z0-9][A-Za-z0-9-]*$/);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('known GPU types', () => {
  it('carry memory and the default target utilization 0.8', () => {
    expect(knownGpuType('H100')).toEqual({ name: 'H100', memory_gib: 80, target_utilization: 0.8 });
    expect(knownGpuType('L40S')?.memory_gib).toBe(48);
    expect(knownGpuType('nope')).toBeUndefined();
  });

  it('keep aliases lower-cased and single-spaced', () => {
    expect(gpuTypeAlias('  NVIDIA  H100 80GB HBM3 ')).toBe('nvidia h100 80gb hbm3');
  });
});
