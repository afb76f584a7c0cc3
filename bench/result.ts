/** One line of the results table: a figure, the baseline it is compared with, and a target. */
export interface Result {
  row: string;
  metric: string;
  value: number;
  unit: string;
  /** The baseline measured in the same run; the ratio is value / baseline. */
  baseline?: { name: string; value: number };
  /** A target on the ratio (or on the value when `on` is "value"). */
  target?: { max: number; on: 'ratio' | 'value'; label: string };
  note?: string;
}

export const ratio = (r: Result) => (r.baseline ? r.value / r.baseline.value : undefined);

export function met(r: Result): boolean | undefined {
  if (!r.target) return undefined;
  const v = r.target.on === 'ratio' ? ratio(r) : r.value;
  return v === undefined ? undefined : v <= r.target.max;
}
