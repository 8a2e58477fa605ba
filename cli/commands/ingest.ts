import path from 'node:path';
import { InputProblems } from '../../app/services/customer-import.server.js';
import { FILE_KINDS, importFile, type FileImportSummary } from '../../app/services/ingest/file-import.server.js';
import { oneOf, type Command } from '../framework.js';
import { peakRssMb } from '../../server/peak-memory.js';

function rejectionLines(summary: FileImportSummary): string[] {
  const lines = summary.firstRejections.map((r) => `${summary.file}:${r.line}: ${r.field ? `${r.field}: ` : ''}${r.reason}`);
  if (summary.rejected > summary.firstRejections.length) lines.push(`… and ${summary.rejected - summary.firstRejections.length} more`);
  return lines;
}

export const ingestFile: Command = {
  path: ['ingest', 'file'],
  summary: 'Import a token-usage, gpu-samples or nvidia-smi CSV file; bad rows are quarantined, good rows stored.',
  args: [{ name: 'FILE', description: 'RFC 4180 CSV, UTF-8, with a header row (see DESIGN.md, "Files users bring")' }],
  options: {
    kind: { type: 'string', description: `what the file holds: ${FILE_KINDS.join(', ')}`, placeholder: 'K' },
    customer: { type: 'string', description: 'the customer of every row (overrides the customer column; created if new)', placeholder: 'SLUG' },
    tz: { type: 'string', description: 'nvidia-smi: the time zone of its timestamps (default: UTC)', placeholder: 'ZONE' },
    'gpu-uuid': { type: 'string', description: 'nvidia-smi: the GPU, when the log has no uuid column', placeholder: 'ID' },
    'gpu-type': { type: 'string', description: 'nvidia-smi: the GPU type, when the log has no name column', placeholder: 'T' },
    json: { type: 'boolean', description: 'print the read/stored/rejected summary as JSON and nothing else' },
  },
  details: `
The whole file is imported in one transaction: a failure leaves nothing half-written. A file that is not CSV
or lacks a required column is refused whole (exit 2, nothing stored). Otherwise each bad row is quarantined
with its line and reason (listed on /ingestion, downloadable as /exports/quarantine.csv?run=ID), the good rows
are stored, and the exit status is 2 when any row was rejected, 0 when all were stored. Importing the same
file again changes nothing; a log that has grown adds only its new lines. Unknown customers are created.
nvidia-smi logs need their header line (run nvidia-smi without \`noheader\`); the customer comes from
--customer or from the GPU's assignment.

Examples:
  breakeven ingest file --kind token-usage usage.csv
  breakeven ingest file --kind nvidia-smi gpu.log --customer acme --gpu-uuid GPU-1234 --tz Europe/Paris`,
  async run({ db, args, options, out }) {
    const kind = oneOf('kind', options.kind, FILE_KINDS);
    const summary = await importFile(db, {
      kind,
      path: path.resolve(args[0]),
      customer: options.customer as string | undefined,
      tz: options.tz as string | undefined,
      gpuUuid: options['gpu-uuid'] as string | undefined,
      gpuType: options['gpu-type'] as string | undefined,
      // For benchmarks: where the time goes, on stderr.
      onPhase: process.env.BREAKEVEN_REPORT_RSS ? (phase, seconds) => process.stderr.write(`${phase}: ${seconds.toFixed(1)} s\n`) : undefined,
    });
    if (process.env.BREAKEVEN_REPORT_RSS) {
      process.stderr.write(`peak RSS ${Math.round(peakRssMb())} MB\n`);
    }
    const document = {
      run: summary.runId,
      file: summary.file,
      kind: summary.kind,
      read: summary.read,
      stored: summary.stored,
      duplicates: summary.duplicates,
      rejected: summary.rejected,
      customers_created: summary.customersCreated,
      rollup_hours: summary.rollupHours,
    };
    if (out.wantsJson) out.json(document);
    else {
      out.say(
        `${summary.file}: ${summary.read} row(s) read, ${summary.stored} stored, ${summary.duplicates} already there, ${summary.rejected} rejected (run ${summary.runId}).`,
      );
      if (summary.customersCreated.length) out.say(`Customers created: ${summary.customersCreated.join(', ')}.`);
    }
    if (summary.rejected > 0) {
      throw new InputProblems([
        `${summary.file}: ${summary.rejected} row(s) rejected and quarantined in run ${summary.runId}; the other rows were stored. ` +
          `See them on /ingestion or download /exports/quarantine.csv?run=${summary.runId}`,
        ...rejectionLines(summary),
      ]);
    }
  },
};
