import { Bar, BarChart, CartesianGrid, Legend, Tooltip, XAxis, YAxis } from 'recharts';
import { formatUsd, formatUsdCompact } from '~/lib/format';
import { AXIS_COLOR, GRID_COLOR, PART_COLORS, SCENARIO_COLOR } from '../scenario';
import { ChartFrame } from './ChartFrame';

/** The members' separate optima stacked, beside the pool's pooled optimum: the gap is the aggregation saving. */
export function PoolChart({ data, members, summary }: { data: Record<string, number | string>[]; members: string[]; summary: string }) {
  return (
    <ChartFrame size="md" summary={summary}>
      {(width) => (
        <BarChart width={width} height={260} data={data} layout="vertical" margin={{ top: 8, right: 24, bottom: 0, left: 8 }} barCategoryGap="28%">
          <CartesianGrid stroke={GRID_COLOR} horizontal={false} />
          <XAxis type="number" tickFormatter={formatUsdCompact} tick={{ fill: AXIS_COLOR, fontSize: 12 }} tickLine={false} axisLine={{ stroke: GRID_COLOR }} />
          <YAxis type="category" dataKey="name" tick={{ fill: AXIS_COLOR, fontSize: 12 }} tickLine={false} axisLine={false} width={80} />
          <Tooltip formatter={(value) => formatUsd(Number(value))} contentStyle={{ borderRadius: 8, borderColor: GRID_COLOR, fontSize: 13 }} />
          <Legend wrapperStyle={{ fontSize: 12 }} iconSize={10} />
          {members.map((m, i) => (
            <Bar key={m} dataKey={m} stackId="cost" fill={PART_COLORS[i % PART_COLORS.length]} isAnimationActive={false} />
          ))}
          <Bar dataKey="pooled" name="Pooled optimum" stackId="cost" fill={SCENARIO_COLOR.recommended} isAnimationActive={false} />
        </BarChart>
      )}
    </ChartFrame>
  );
}
