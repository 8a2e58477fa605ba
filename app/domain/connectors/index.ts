// The pull connectors' pure part: settings, windows, and the formats of Prometheus (dcgm-exporter, vLLM)
// and the OpenAI usage API turned into rows.
export * from './customers.js';
export * from './dcgm.js';
export * from './openai-usage.js';
export * from './prometheus.js';
export * from './source-config.js';
export * from './vllm.js';
export * from './windows.js';
