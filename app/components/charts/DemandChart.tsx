import { useMemo } from 'react';
import { Area, CartesianGrid, ComposedChart, Legend, Line, ReferenceLine, Tooltip, XAxis, YAxis } from 'recharts';
import { formatGpus } from '~/lib/format';
import { AXIS_COLOR, GRID_COLOR, SCENARIO_COLOR } from '../scenario';
import { ChartFrame } from './ChartFrame';

/** The series as columns: bucket i starts at t0 + i·stepMs. */
export interface DemandSeries {
  bucketHours: number;
  t0: number;
  stepMs: number;
  demand: number[];
  peak: number[] | null;
  current: number[] | null;
}

function labelFormat(timeZone: string) {
  const f = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  return (t: number) => f.format(t);
}

function tickFormat(timeZone: string, spanHours: number) {
  const f = new Intl.DateTimeFormat('en-US', spanHours <= 72 ? { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' } : { timeZone, month: 'short', day: 'numeric' });
  return (t: number) => f.format(t);
}

/** Hourly demand d(h) (mean and peak per bucket when the period is long), the reservation in force, the recommended N. */
export function DemandChart({ series, recommendedGpus, timeZone, summary }: { series: DemandSeries; recommendedGpus: number | null; timeZone: string; summary: string }) {
  const { bucketHours } = series;
  const points = useMemo(
    () => series.demand.map((demand, i) => ({ t: series.t0 + i * series.stepMs, demand, peak: series.peak?.[i] ?? demand, current: series.current?.[i] ?? 0 })),
    [series],
  );
  const hasCurrent = series.current !== null;
  const span = points.length * bucketHours;
  return (
    <ChartFrame size="lg" summary={summary}>
      {(width) => (
        <ComposedChart width={width} height={320} data={points} margin={{ top: 8, right: 16, bottom: 0, left: 0 }}>
          <CartesianGrid stroke={GRID_COLOR} vertical={false} />
          <XAxis
            dataKey="t"
            type="number"
            scale="time"
            domain={['dataMin', 'dataMax']}
            tickFormatter={tickFormat(timeZone, span)}
            tick={{ fill: AXIS_COLOR, fontSize: 12 }}
            tickLine={false}
            axisLine={{ stroke: GRID_COLOR }}
            minTickGap={32}
          />
          <YAxis tick={{ fill: AXIS_COLOR, fontSize: 12 }} tickLine={false} axisLine={false} width={40} allowDecimals={false} />
          <Tooltip
            labelFormatter={(_, payload) => {
              const t = payload?.[0]?.payload?.t;
              return typeof t === 'number' ? labelFormat(timeZone)(t) : '';
            }}
            formatter={(value, name) => [`${formatGpus(Number(value))} GPUs`, name]}
            contentStyle={{ borderRadius: 8, borderColor: GRID_COLOR, fontSize: 13 }}
          />
          <Legend wrapperStyle={{ fontSize: 12 }} iconSize={10} />
          <Area
            type="monotone"
            dataKey="demand"
            name={bucketHours > 1 ? `Demand (mean of ${bucketHours} h)` : 'Demand d(h)'}
            stroke="#0f6b80"
            fill="#cfe8ee"
            strokeWidth={1.5}
            isAnimationActive={false}
          />
          {bucketHours > 1 ? (
            <Line type="monotone" dataKey="peak" name="Peak hour" stroke="#5a9bab" strokeWidth={1} dot={false} isAnimationActive={false} />
          ) : null}
          {hasCurrent ? (
            <Line type="stepAfter" dataKey="current" name="Reserved now N(h)" stroke={SCENARIO_COLOR.current} strokeWidth={2} dot={false} isAnimationActive={false} />
          ) : null}
          {recommendedGpus !== null ? (
            <ReferenceLine
              y={recommendedGpus}
              stroke={SCENARIO_COLOR.recommended}
              strokeDasharray="6 3"
              strokeWidth={2}
              ifOverflow="extendDomain"
              label={{ value: `Recommended ${recommendedGpus}`, position: 'insideTopRight', fill: SCENARIO_COLOR.recommended, fontSize: 12 }}
            />
          ) : null}
        </ComposedChart>
      )}
    </ChartFrame>
  );
}
