import { describe, expect, test } from "bun:test";
import { computeMetadataStats, selectMetadata, versionMetadata, type MetadataRow } from "../../src/domain/metadata.ts";

const T0 = Date.parse("2024-01-01T00:00:00Z");
const T = Date.parse("2024-01-02T06:00:00Z");
const fifty = computeMetadataStats(200, 50, 4, 5);
const fiftyTwo = computeMetadataStats(208, 52, 4, 5);

describe("computeMetadataStats", () => {
  test.each([
    [100, 5, 20],
    [120, 1, 120],
    [30, 60, 0.5],
    [7, 3, 7 / 3],
  ])("%p series at %pm give %p rows per minute", (series, interval, rowsPerMinute) => {
    expect(computeMetadataStats(series, 30, 4, interval)).toEqual({ rowsPerMinute, coinsTracked: 30, exchangesTracked: 4, bucketIntervalMinutes: interval });
  });
});

describe("versionMetadata", () => {
  const first: MetadataRow = { id: 1, ...fifty, effectiveFromMs: T0, effectiveToMs: null, assertiveFromMs: T0, assertiveToMs: null };

  test("the first statistics ever give one row open at both ends", () => {
    expect(versionMetadata(undefined, fifty, T0)).toEqual({ insert: [{ ...fifty, effectiveFromMs: T0, effectiveToMs: null, assertiveFromMs: T0, assertiveToMs: null }] });
  });

  test("unchanged statistics write nothing", () => {
    expect(versionMetadata(first, { ...fifty }, T)).toEqual({ insert: [] });
  });

  test("a change from 50 to 52 coins gives exactly three rows with the right four timestamps", () => {
    const plan = versionMetadata(first, fiftyTwo, T);
    expect(plan.close).toEqual({ id: 1, assertiveToMs: T });
    expect(plan.insert).toEqual([
      { ...fifty, effectiveFromMs: T0, effectiveToMs: T, assertiveFromMs: T, assertiveToMs: null },
      { ...fiftyTwo, effectiveFromMs: T, effectiveToMs: null, assertiveFromMs: T, assertiveToMs: null },
    ]);
    const table = [{ ...first, assertiveToMs: plan.close!.assertiveToMs }, ...plan.insert];
    expect(table).toHaveLength(3);
    expect(table.map((r) => [r.effectiveFromMs, r.effectiveToMs, r.assertiveFromMs, r.assertiveToMs])).toEqual([
      [T0, null, T0, T],
      [T0, T, T, null],
      [T, null, T, null],
    ]);
  });

  test.each([
    ["rows per minute", { rowsPerMinute: 41 }],
    ["exchanges", { exchangesTracked: 3 }],
    ["bucket interval", { bucketIntervalMinutes: 1 }],
  ])("a change of %s alone is a new version", (_name, change) => {
    expect(versionMetadata(first, { ...fifty, ...change }, T).insert).toHaveLength(2);
  });

  test("a clock that stepped back never ends a row before it starts", () => {
    const plan = versionMetadata(first, fiftyTwo, T0 - 1000);
    expect(plan.close).toEqual({ id: 1, assertiveToMs: T0 });
    expect(plan.insert[0]).toMatchObject({ effectiveFromMs: T0, effectiveToMs: T0 });
  });

  test("a changed current row without an id cannot be closed", () => {
    expect(() => versionMetadata({ ...first, id: undefined }, fiftyTwo, T)).toThrow(/no id/);
  });
});

describe("selectMetadata", () => {
  const plan = versionMetadata({ id: 1, ...fifty, effectiveFromMs: T0, effectiveToMs: null, assertiveFromMs: T0, assertiveToMs: null }, fiftyTwo, T);
  const rows: MetadataRow[] = [
    { id: 1, ...fifty, effectiveFromMs: T0, effectiveToMs: null, assertiveFromMs: T0, assertiveToMs: T },
    { id: 2, ...plan.insert[0]! },
    { id: 3, ...plan.insert[1]! },
  ];

  test.each([
    ["nothing was known before the first row", T0 + 1, T0 - 1, undefined],
    ["before the change, about the past", T0 + 1, T - 1, 1],
    ["before the change, about after it: the old belief", T + 1, T - 1, 1],
    ["after the change, about the past: the old statistics ending at T", T0 + 1, T + 1, 2],
    ["at the change, about just before it", T - 1, T, 2],
    ["at the change, about the change", T, T, 3],
    ["after the change, about now", T + 1, T + 1, 3],
    ["about a time before anything was in effect", T0 - 1, T + 1, undefined],
  ])("%s", (_name, effectiveAtMs, knownAtMs, id) => {
    expect(selectMetadata(rows, effectiveAtMs, knownAtMs)?.id).toBe(id);
  });
});
