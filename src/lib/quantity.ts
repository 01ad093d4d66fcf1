/**
 * Kubernetes resource quantities (`500Mi`, `1Gi`, `0.5`, `100m`, `1e3`), as
 * apimachinery's resource.Quantity accepts them.
 */

const QUANTITY = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:(Ki|Mi|Gi|Ti|Pi|Ei)|(n|u|m|k|M|G|T|P|E)|([eE][+-]?\d+))?$/;

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

/** True when `s` is a valid Kubernetes quantity. */
export function isQuantity(s: string): boolean {
  return QUANTITY.test(s);
}

/** The quantity's value as a number (bytes for memory, cores for CPU); throws on an invalid quantity. */
export function parseQuantity(s: string): number {
  const m = QUANTITY.exec(s);
  if (!m) throw new Error(`"${s}" is not a Kubernetes quantity (examples: 512Mi, 2Gi, 500m, 0.5)`);
  const n = Number(m[1]);
  if (m[2]) return n * BINARY[m[2]]!;
  if (m[3]) return n * DECIMAL[m[3]]!;
  if (m[4]) return n * 10 ** Number(m[4].slice(1));
  return n;
}
