// The four scenarios' names and colours: the same in every chart, table and legend.
export type ScenarioKey = 'current' | 'api' | 'on_demand' | 'recommended';

export const SCENARIO_LABEL: Record<ScenarioKey, string> = {
  current: 'Current',
  api: 'Inference API',
  on_demand: 'On-demand GPUs',
  recommended: 'Recommended reserved',
};

/** Keep in step with --sc-* in public/styles.css. */
export const SCENARIO_COLOR: Record<ScenarioKey, string> = {
  current: '#334e68',
  api: '#7c3aed',
  on_demand: '#d97706',
  recommended: '#0e8a6b',
};

/** Shades for the parts of today's spend (largest first), then "other". */
export const STACK_COLORS = ['#243b53', '#3e5c7a', '#5a7a99', '#7f9bb6', '#a7bccf', '#cfdbe6'];

/** Series that are parts of something (models, members): distinct but quiet. */
export const PART_COLORS = ['#0f6b80', '#5b8def', '#e07a5f', '#81b29a', '#c08497', '#f2cc8f', '#6d6875', '#3d405b'];

export const GRID_COLOR = '#e6ebf0';
export const AXIS_COLOR = '#6b7c8c';
