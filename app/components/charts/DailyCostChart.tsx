import { useState } from 'react';
import { Area, CartesianGrid, ComposedChart, Line, Tooltip, XAxis, YAxis } from 'recharts';
import { formatShortDay, formatUsd, formatUsdCompact } from '~/lib/format';
import { AXIS_COLOR, GRID_COLOR, SCENARIO_COLOR, SCENARIO_LABEL, STACK_COLORS } from '../scenario';
import { ChartFrame } from './ChartFrame';

export interface DailyPoint {
  day: string;
  [key: string]: number | string;
}

/**
 * Cost per UTC day: today's spend stacked by its largest customers and pools, with what the same days would cost
 * on the API, on on-demand GPUs and under the recommended reservations drawn over it.
 */
export function DailyCostChart({ data, series, summary }: { data: DailyPoint[]; series: { key: string; label: string }[]; summary: string }) {
  const color = (i: number) => STACK_COLORS[Math.min(i, STACK_COLORS.length - 1)];
  // The API often costs several times the rest; drawn on the same axis it would flatten everything else, so it
  // starts hidden then (one click shows it).
  const peak = (key: string) => data.reduce((m, p) => Math.max(m, Number(p[key]) || 0), 0);
  const apiDominates = peak('api') > 1.6 * Math.max(peak('current'), peak('on_demand'), peak('recommended'));
  const [showApi, setShowApi] = useState(!apiDominates);
  return (
    <>
    <ChartFrame size="lg" summary={summary}>
      {(width) => (
        <ComposedChart width={width} height={320} data={data} margin={{ top: 8, right: 12, bottom: 0, left: 4 }}>
          <CartesianGrid stroke={GRID_COLOR} vertical={false} />
          <XAxis dataKey="day" tickFormatter={formatShortDay} tick={{ fill: AXIS_COLOR, fontSize: 12 }} tickLine={false} axisLine={{ stroke: GRID_COLOR }} minTickGap={24} />
          <YAxis tickFormatter={formatUsdCompact} tick={{ fill: AXIS_COLOR, fontSize: 12 }} tickLine={false} axisLine={false} width={64} />
          <Tooltip
            formatter={(value) => formatUsd(Number(value))}
            labelFormatter={(label) => formatShortDay(String(label))}
            contentStyle={{ borderRadius: 8, borderColor: GRID_COLOR, fontSize: 13 }}
          />
          {series.map((s, i) => (
            <Area
              key={s.key}
              type="monotone"
              dataKey={s.key}
              name={s.label}
              stackId="current"
              stroke={color(i)}
              fill={color(i)}
              fillOpacity={0.85}
              strokeWidth={0}
              isAnimationActive={false}
            />
          ))}
          {showApi ? <Line type="monotone" dataKey="api" name={SCENARIO_LABEL.api} stroke={SCENARIO_COLOR.api} strokeWidth={2} dot={false} isAnimationActive={false} /> : null}
          <Line type="monotone" dataKey="on_demand" name={SCENARIO_LABEL.on_demand} stroke={SCENARIO_COLOR.on_demand} strokeWidth={2} dot={false} isAnimationActive={false} />
          <Line
            type="monotone"
            dataKey="recommended"
            name={SCENARIO_LABEL.recommended}
            stroke={SCENARIO_COLOR.recommended}
            strokeWidth={2.5}
            strokeDasharray="6 3"
            dot={false}
            isAnimationActive={false}
          />
        </ComposedChart>
      )}
    </ChartFrame>
    <div className="legend">
      <ul aria-label="Today’s spend by">
        <li className="legend-title">Today, by</li>
        {series.map((s, i) => (
          <li key={s.key}><i className={`key key-area stack-${Math.min(i, STACK_COLORS.length - 1)}`} aria-hidden="true" />{s.label}</li>
        ))}
      </ul>
      <ul aria-label="Alternatives">
        <li className="legend-title">Instead</li>
        <li>
          <button type="button" className={`legend-toggle ${showApi ? '' : 'off'}`} aria-pressed={showApi} onClick={() => setShowApi(!showApi)} title={showApi ? 'Hide the API line' : 'Show the API line'}>
            <i className="key key-line sc-api" aria-hidden="true" />
            {SCENARIO_LABEL.api}
            {showApi ? '' : ' (hidden)'}
          </button>
        </li>
        <li><i className="key key-line sc-on_demand" aria-hidden="true" />{SCENARIO_LABEL.on_demand}</li>
        <li><i className="key key-dash sc-recommended" aria-hidden="true" />{SCENARIO_LABEL.recommended}</li>
      </ul>
    </div>
    </>
  );
}
