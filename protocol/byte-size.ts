const UNITS: Readonly<Record<string, number>> = { "": 1, B: 1, KB: 1e3, MB: 1e6, GB: 1e9, KIB: 1024, MIB: 1024 ** 2, GIB: 1024 ** 3 };

/**
 * Bytes from a size as people write it in flags and options: a plain count, or a number with an SI
 * (`KB`, `MB`, `GB`) or binary (`KiB`, `MiB`, `GiB`) unit, case-insensitive. Null when it is not a
 * positive size.
 *
 * @example
 * ```ts
 * parseBytes("512MB");   // 512_000_000
 * parseBytes("1.5 GiB"); // 1_610_612_736
 * parseBytes("lots");    // null
 * ```
 */
export function parseBytes(text: string): number | null {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const scale = match === null ? undefined : UNITS[match[2].toUpperCase()];
  if (match === null || scale === undefined) return null;
  const bytes = Math.round(Number(match[1]) * scale);
  return bytes > 0 ? bytes : null;
}
