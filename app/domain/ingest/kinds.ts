// The kinds of file `ingest file` reads (DESIGN.md, "Files users bring"); alone, so a page can list them
// without bundling the parsers.
export const FILE_KINDS = ['token-usage', 'gpu-samples', 'nvidia-smi'] as const;
export type FileKind = (typeof FILE_KINDS)[number];
