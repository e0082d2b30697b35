import pkg from "../../package.json" with { type: "json" };

declare const CRYPTOINTELLECT_COMMIT: string | undefined;

/** The commit is stamped in by `bun run build` (--define); a source checkout says "source". */
export const VERSION = pkg.version;
export const COMMIT = typeof CRYPTOINTELLECT_COMMIT === "string" ? CRYPTOINTELLECT_COMMIT : "source";
export const VERSION_LINE = `cryptointellect ${VERSION} (commit ${COMMIT})`;
