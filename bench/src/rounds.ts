/**
 * The median of repeated rounds: on a shared machine one round can be hit by a neighbour's work,
 * so a repeated measurement reports its middle round. With an even count, the lower middle (a
 * round that really happened, not an average of two).
 */
export function medianRound<T>(rounds: readonly T[], value: (round: T) => number): T {
  if (rounds.length === 0) throw new RangeError('medianRound needs at least one round');
  const sorted = [...rounds].sort((a, b) => value(a) - value(b));
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}
