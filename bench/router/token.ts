/** The bearer token the benchmark's router accepts. */
export const BENCH_TOKEN = 'bench-token-0000000000001';
