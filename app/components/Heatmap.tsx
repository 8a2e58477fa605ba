import { formatGpus, formatPercent } from '~/lib/format';

const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

/**
 * 7 × 24 cells (Monday first, hours in the viewer's zone): GPU utilization (busy ÷ held) or, without telemetry,
 * mean demand in GPUs. Ten shades from the lowest cell to the highest (the legend gives both), as classes of the
 * stylesheet, so the table renders on the server.
 */
export function Heatmap({ cells, metric, min, max, timeZone }: { cells: (number | null)[]; metric: 'utilization' | 'demand'; min: number; max: number; timeZone: string }) {
  const range = max - min || 1;
  const text = (v: number | null) => (v === null ? 'no data' : metric === 'utilization' ? formatPercent(v) : `${formatGpus(v)} GPUs`);
  return (
    <div className="heatmap-wrap" role="region" aria-label="Hour-of-week heatmap" tabIndex={0}>
      <table className="heatmap">
        <caption className="visually-hidden">
          {metric === 'utilization' ? 'GPU utilization' : 'Mean demand'} by weekday and hour, {timeZone}
        </caption>
        <thead>
          <tr>
            <th scope="col"><span className="visually-hidden">Day</span></th>
            {Array.from({ length: 24 }, (_, h) => (
              <th key={h} scope="col">{h % 3 === 0 ? String(h).padStart(2, '0') : <span className="visually-hidden">{h}</span>}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {DAYS.map((day, d) => (
            <tr key={day}>
              <th scope="row">{day}</th>
              {Array.from({ length: 24 }, (_, h) => {
                const v = cells[d * 24 + h];
                const level = v === null ? 'none' : String(Math.min(9, Math.max(0, Math.floor(((v - min) / range) * 10))));
                return <td key={h} className={`heat heat-${level}`} title={`${day} ${String(h).padStart(2, '0')}:00 — ${text(v)}`} />;
              })}
            </tr>
          ))}
        </tbody>
      </table>
      <div className="heat-legend" aria-hidden="true">
        <span>{text(min)}</span>
        {Array.from({ length: 10 }, (_, i) => <i key={i} className={`heat heat-${i}`} />)}
        <span>{text(max)}</span>
      </div>
    </div>
  );
}
