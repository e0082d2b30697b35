/** A field path as config messages show it: `http.port`, `exchanges[1]`. */
export function joinPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : `${i === 0 ? "" : "."}${String(p)}`)).join("");
}
