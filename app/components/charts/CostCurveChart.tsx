import { CartesianGrid, LineChart, Line, ReferenceDot, ReferenceLine, Tooltip, XAxis, YAxis } from 'recharts';
import { formatUsd, formatUsdCompact } from '~/lib/format';
import { AXIS_COLOR, GRID_COLOR, SCENARIO_COLOR } from '../scenario';
import { ChartFrame } from './ChartFrame';

export interface CurveMarker {
  key: string;
  label: string;
  gpus: number;
  cost: number;
}

const MARKER_COLOR: Record<string, string> = { floor: '#627d98', balanced: '#b7791f', optimal: SCENARIO_COLOR.recommended };

/** RESERVED(N) over N, with the floor, balanced and optimal levels marked and the current N. */
export function CostCurveChart({
  points,
  markers,
  currentGpus,
  apiUsd,
  summary,
}: {
  points: { gpus: number; cost: number }[];
  markers: CurveMarker[];
  currentGpus: number | null;
  apiUsd: number;
  summary: string;
}) {
  const max = Math.max(...points.map((p) => p.cost));
  const min = Math.min(...points.map((p) => p.cost));
  // The API line only when it does not flatten the curve.
  const showApi = apiUsd <= max * 1.25 && apiUsd >= min * 0.5;
  return (
    <ChartFrame size="md" summary={summary}>
      {(width) => (
        <LineChart width={width} height={260} data={points} margin={{ top: 22, right: 24, bottom: 4, left: 4 }}>
          <CartesianGrid stroke={GRID_COLOR} vertical={false} />
          <XAxis
            dataKey="gpus"
            type="number"
            domain={['dataMin', 'dataMax']}
            allowDecimals={false}
            tick={{ fill: AXIS_COLOR, fontSize: 12 }}
            tickLine={false}
            axisLine={{ stroke: GRID_COLOR }}
            label={{ value: 'GPUs reserved (N)', position: 'insideBottomRight', offset: -2, fill: AXIS_COLOR, fontSize: 12 }}
          />
          <YAxis tickFormatter={formatUsdCompact} tick={{ fill: AXIS_COLOR, fontSize: 12 }} tickLine={false} axisLine={false} width={64} domain={['auto', 'auto']} />
          <Tooltip formatter={(value) => [formatUsd(Number(value)), 'RESERVED(N)']} labelFormatter={(n) => `N = ${n}`} contentStyle={{ borderRadius: 8, borderColor: GRID_COLOR, fontSize: 13 }} />
          {showApi ? <ReferenceLine y={apiUsd} stroke={SCENARIO_COLOR.api} strokeDasharray="4 4" label={{ value: 'All API', position: 'insideTopLeft', fill: SCENARIO_COLOR.api, fontSize: 11 }} /> : null}
          {currentGpus !== null ? (
            <ReferenceLine x={currentGpus} stroke={SCENARIO_COLOR.current} strokeDasharray="4 4" ifOverflow="extendDomain" label={{ value: `Now ${currentGpus}`, position: 'top', fill: SCENARIO_COLOR.current, fontSize: 11 }} />
          ) : null}
          <Line type="linear" dataKey="cost" name="RESERVED(N)" stroke={SCENARIO_COLOR.recommended} strokeWidth={2} dot={{ r: 2.5 }} isAnimationActive={false} />
          {markers.map((m, i) => (
            <ReferenceDot
              key={m.key}
              x={m.gpus}
              y={m.cost}
              r={6}
              fill={MARKER_COLOR[m.key] ?? SCENARIO_COLOR.recommended}
              stroke="#fff"
              strokeWidth={2}
              label={{ value: m.label, position: i % 2 === 0 ? 'top' : 'bottom', fill: MARKER_COLOR[m.key] ?? AXIS_COLOR, fontSize: 11 }}
            />
          ))}
        </LineChart>
      )}
    </ChartFrame>
  );
}
