/** The table's CSV download (served by /exports/*.csv with the same parameters as the page). */
export function CsvLink({ href, label = 'CSV' }: { href: string; label?: string }) {
  return (
    <a className="csv-link" href={href} download>
      <span aria-hidden="true">↓</span> {label}
    </a>
  );
}
