// Outcomes of single runs and their summary: the median over runs, where a run that timed out
// counts as the worst value and a failed run as worse still, so a median is never better than what
// most runs achieved. Ratios keep their direction: value / reference in the metric's own unit.

import type { Unit } from './workloads.js';

export type Outcome =
  | { readonly kind: 'ok'; readonly value: number }
  /** No answer within the per-workload bound. */
  | { readonly kind: 'timeout'; readonly afterSeconds: number }
  | { readonly kind: 'failed'; readonly reason: string }
  /** Not measured because an earlier step of the same run did not finish. */
  | { readonly kind: 'skipped'; readonly reason: string };

export function higherIsBetter(unit: Unit): boolean {
  return unit !== 's';
}

/** Sort key: lower is better; timeouts after every value, failures and skips last. */
function badness(outcome: Outcome, unit: Unit): number {
  switch (outcome.kind) {
    case 'ok':
      return higherIsBetter(unit) ? -outcome.value : outcome.value;
    case 'timeout':
      return Number.MAX_VALUE / 2;
    default:
      return Number.MAX_VALUE;
  }
}

/** The median outcome (the upper middle of an even count: the worse of the two). */
export function medianOutcome(outcomes: readonly Outcome[], unit: Unit): Outcome | undefined {
  if (outcomes.length === 0) return undefined;
  const sorted = [...outcomes].sort((a, b) => badness(a, unit) - badness(b, unit));
  const okValues = sorted.filter((o) => o.kind === 'ok');
  const mid = sorted[Math.floor(sorted.length / 2)] as Outcome;
  // An odd count of plain values: the usual median; an even count of values: their mean.
  if (okValues.length === sorted.length && sorted.length % 2 === 0) {
    const a = sorted[sorted.length / 2 - 1] as { value: number };
    const b = mid as { value: number };
    return { kind: 'ok', value: (a.value + b.value) / 2 };
  }
  return mid;
}

export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * `a / b` for display, or a bound when one side of a time metric timed out (it took longer than
 * its bound, so the ratio is at least bound / b, or at most a / bound); undefined when no honest
 * number exists.
 */
export function ratio(a: Outcome | undefined, b: Outcome | undefined, unit: Unit): { value: number; bound: 'exact' | 'atLeast' | 'atMost' } | undefined {
  if (a === undefined || b === undefined) return undefined;
  if (a.kind === 'ok' && b.kind === 'ok') return b.value === 0 ? undefined : { value: a.value / b.value, bound: 'exact' };
  if (higherIsBetter(unit)) return undefined;
  if (a.kind === 'timeout' && b.kind === 'ok' && b.value > 0) return { value: a.afterSeconds / b.value, bound: 'atLeast' };
  if (a.kind === 'ok' && b.kind === 'timeout') return { value: a.value / b.afterSeconds, bound: 'atMost' };
  return undefined;
}
