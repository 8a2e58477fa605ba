// The customers table's sort keys and how a sort is spelled in the URL (`sort=-saving`: descending), shared by the
// page's links (browser) and the service that sorts (server).
export const CUSTOMER_SORT_KEYS = [
  'customer', 'pool', 'gpu_type', 'tokens', 'gpu_hours', 'api', 'on_demand', 'current', 'recommended_gpus', 'recommended', 'saving', 'fill',
  'break_even_fill', 'hours_without_data',
] as const;
export type CustomerSortKey = (typeof CUSTOMER_SORT_KEYS)[number];

export const sortParam = (sort: string, dir: 'asc' | 'desc'): string => (dir === 'desc' ? `-${sort}` : sort);
