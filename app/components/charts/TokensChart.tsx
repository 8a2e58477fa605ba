import { Bar, BarChart, CartesianGrid, Legend, Tooltip, XAxis, YAxis } from 'recharts';
import { formatCompact, formatShortDay } from '~/lib/format';
import { AXIS_COLOR, GRID_COLOR, PART_COLORS } from '../scenario';
import { ChartFrame } from './ChartFrame';

/** Tokens (input + output) per UTC day, stacked by model. */
export function TokensChart({ daily, models, summary }: { daily: Record<string, number | string>[]; models: string[]; summary: string }) {
  return (
    <ChartFrame size="md" summary={summary}>
      {(width) => (
        <BarChart width={width} height={260} data={daily} margin={{ top: 8, right: 12, bottom: 0, left: 4 }}>
          <CartesianGrid stroke={GRID_COLOR} vertical={false} />
          <XAxis dataKey="day" tickFormatter={formatShortDay} tick={{ fill: AXIS_COLOR, fontSize: 12 }} tickLine={false} axisLine={{ stroke: GRID_COLOR }} minTickGap={24} />
          <YAxis tickFormatter={formatCompact} tick={{ fill: AXIS_COLOR, fontSize: 12 }} tickLine={false} axisLine={false} width={52} />
          <Tooltip formatter={(value) => formatCompact(Number(value))} labelFormatter={(l) => formatShortDay(String(l))} contentStyle={{ borderRadius: 8, borderColor: GRID_COLOR, fontSize: 13 }} />
          <Legend wrapperStyle={{ fontSize: 12 }} iconSize={10} />
          {models.map((m, i) => (
            <Bar key={m} dataKey={m} stackId="tokens" fill={PART_COLORS[i % PART_COLORS.length]} isAnimationActive={false} />
          ))}
        </BarChart>
      )}
    </ChartFrame>
  );
}
