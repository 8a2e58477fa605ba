/** When the figures were computed, and whether newer data are being taken in. */
export function Freshness({ computedAtLabel, fresh, timeZone }: { computedAtLabel: string; fresh: boolean; timeZone: string }) {
  return (
    <p className={`freshness ${fresh ? '' : 'stale'}`} role={fresh ? undefined : 'status'}>
      {fresh ? `Computed ${computedAtLabel}` : `Showing figures from ${computedAtLabel}; newer data are being costed — reload in a moment`} · times in {timeZone}
    </p>
  );
}
