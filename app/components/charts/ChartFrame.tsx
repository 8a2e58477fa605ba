import { useEffect, useRef, useState, type ReactNode } from 'react';

/**
 * A chart's box: a fixed height from the stylesheet (no layout shift when the chart appears) and the width of its
 * card, measured in the browser. Recharts 3 draws only after hydration, so the server sends the empty box with a
 * text summary for screen readers and for anyone without JavaScript.
 */
export function ChartFrame({ size = 'md', summary, children }: { size?: 'sm' | 'md' | 'lg'; summary: string; children: (width: number) => ReactNode }) {
  const ref = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(0);
  useEffect(() => {
    const element = ref.current;
    if (!element) return;
    const measure = () => setWidth(Math.floor(element.clientWidth));
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    return () => observer.disconnect();
  }, []);
  return (
    <figure className={`chart chart-${size}`} ref={ref} aria-label={summary}>
      {width > 0 ? children(width) : <figcaption className="chart-placeholder">{summary}</figcaption>}
    </figure>
  );
}
