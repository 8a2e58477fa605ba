import { Link } from '@remix-run/react';

/**
 * A sortable column header: a real link (keyboard and middle-click work) to the same page sorted by this column;
 * `aria-sort` tells assistive technology which column is sorted and how. Numbers sort descending first.
 */
export function SortHeader({
  label,
  sortKey,
  sort,
  dir,
  href,
  numeric = false,
  title,
}: {
  label: string;
  sortKey: string;
  sort: string;
  dir: 'asc' | 'desc';
  href: (sortKey: string, dir: 'asc' | 'desc') => string;
  numeric?: boolean;
  title?: string;
}) {
  const active = sort === sortKey;
  const next: 'asc' | 'desc' = active ? (dir === 'desc' ? 'asc' : 'desc') : numeric ? 'desc' : 'asc';
  return (
    <th scope="col" className={numeric ? 'num' : undefined} aria-sort={active ? (dir === 'asc' ? 'ascending' : 'descending') : 'none'} title={title}>
      <Link to={href(sortKey, next)} className={`sort ${active ? 'active' : ''}`} preventScrollReset>
        {label}
        <span className="sort-icon" aria-hidden="true">{active ? (dir === 'asc' ? '▲' : '▼') : '↕'}</span>
      </Link>
    </th>
  );
}
