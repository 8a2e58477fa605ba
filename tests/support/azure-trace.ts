// The Azure LLM inference trace (Patel et al., Splitwise, ISCA 2024; CC BY 4.0) as a token-usage file:
// TIMESTAMP,ContextTokens,GeneratedTokens → timestamp,customer,model,input_tokens,output_tokens,requests.
// The trace's timestamps carry no zone; they are UTC. Each row is one request.

/** Converts the trace's CSV text to DESIGN.md's token-usage format, every row for one customer and model. */
export function azureTraceToTokenUsageCsv(text: string, options: { customer: string; model: string }): string {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = lines.shift()?.split(',').map((h) => h.trim()) ?? [];
  const [iTs, iIn, iOut] = ['TIMESTAMP', 'ContextTokens', 'GeneratedTokens'].map((c) => header.indexOf(c));
  if (iTs < 0 || iIn < 0 || iOut < 0) throw new Error(`not an Azure LLM trace (header: ${header.join(',')})`);
  const out = ['timestamp,customer,model,input_tokens,output_tokens,requests'];
  for (const line of lines) {
    const f = line.split(',');
    const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?)$/.exec(f[iTs].trim());
    if (!m) throw new Error(`unexpected trace timestamp "${f[iTs]}"`);
    out.push(`${m[1]}T${m[2]}Z,${options.customer},${options.model},${f[iIn].trim()},${f[iOut].trim()},1`);
  }
  return `${out.join('\n')}\n`;
}
