/** Settings shared by the benchmarks. */

/**
 * A positive whole-number setting from the environment (e.g. `BENCH_BATCH=32`), or `fallback`
 * when it is unset, not a number or not positive; fractions are rounded down.
 */
export function envInt(name: string, fallback: number): number {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? Math.floor(v) : fallback;
}
