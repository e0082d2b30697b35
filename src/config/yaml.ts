/**
 * A structural pre-scan of the YAML. Bun's parser says neither where a file goes wrong nor that a
 * key is given twice (the last one silently wins), so this walks the subset a config uses (block
 * mappings and lists, flow lists and maps, quoted and plain scalars, block scalars, comments) for
 * positions only. Values still come from Bun: the scan's syntax verdict is used only to say where
 * Bun's refusal lies, never to refuse what Bun accepts.
 */

import { joinPath } from "./field-path.ts";

/** A place in the file, 1-based. */
export interface YamlPlace {
  line: number;
  column: number;
}

export interface YamlScan {
  /** The first syntax problem met (the scan stops there). */
  error?: YamlPlace & { message: string };
  /** Keys given more than once in one mapping: the field path, the line of the repeat and of the first. */
  duplicates: { path: string; at: YamlPlace; first: YamlPlace }[];
}

class YamlScanStop extends Error {}

/** A config nests three levels; deeper is a mistake or an attack, and the scan recurses per level. */
const MAX_YAML_DEPTH = 64;

export function scanYaml(input: string): YamlScan {
  const src = input.replace(/^\uFEFF/, "").replace(/\r\n?/g, "\n");
  const duplicates: YamlScan["duplicates"] = [];
  let error: YamlScan["error"];
  const lineStarts = [0];
  for (let i = 0; i < src.length; i++) if (src[i] === "\n") lineStarts.push(i + 1);
  const place = (pos: number): YamlPlace => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid]! <= pos) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: pos - lineStarts[lo]! + 1 };
  };
  const at = (pos: number) => {
    const p = place(pos);
    return `line ${p.line}, column ${p.column}`;
  };
  const fail = (pos: number, message: string): never => {
    error = { ...place(pos), message };
    throw new YamlScanStop();
  };

  const blank = (c: string | undefined) => c === undefined || c === " " || c === "\t" || c === "\n";
  const isFlowIndicator = (c: string | undefined) => c !== undefined && ",[]{}".includes(c);
  const lineEnd = (p: number) => {
    const e = src.indexOf("\n", p);
    return e < 0 ? src.length : e;
  };
  const nextLine = (p: number) => lineEnd(p) + 1;
  const lineStart = (p: number) => src.lastIndexOf("\n", p - 1) + 1;
  const indentAt = (ls: number) => {
    let i = ls;
    while (src[i] === " ") i++;
    return i - ls;
  };
  const isDocMarker = (ls: number) => (src.startsWith("---", ls) || src.startsWith("...", ls)) && blank(src[ls + 3]);
  const isSeqItem = (p: number) => src[p] === "-" && blank(src[p + 1]);

  /** The start of the first line from `ls` on holding more than spaces and a comment, or -1. */
  const contentLine = (ls: number): number => {
    for (let p = ls; p < src.length; p = nextLine(p)) {
      let i = p;
      while (src[i] === " " || src[i] === "\t") i++;
      if (i >= src.length || src[i] === "\n" || src[i] === "#") continue;
      for (let k = p; k < i; k++) if (src[k] === "\t") fail(k, "a tab in the indentation: YAML indents with spaces only");
      return p;
    }
    return -1;
  };

  /** After a complete value ending at `p`, only spaces and a comment may follow on its line. */
  const restOfLine = (p: number, after: string): number => {
    let i = p;
    while (src[i] === " " || src[i] === "\t") i++;
    if (i < src.length && src[i] !== "\n" && !(src[i] === "#" && i > p)) fail(i, `unexpected text after ${after}`);
    return nextLine(i);
  };

  const keyText = (from: number, to: number): string => {
    const raw = src.slice(from, to).trim();
    if (raw.startsWith('"')) {
      try {
        return String(JSON.parse(raw));
      } catch {
        return raw.slice(1, -1);
      }
    }
    if (raw.startsWith("'")) return raw.slice(1, -1).replace(/''/g, "'");
    return raw;
  };

  const record = (keys: Map<string, YamlPlace>, key: string, pos: number, path: readonly PropertyKey[]) => {
    const first = keys.get(key);
    if (first === undefined) keys.set(key, place(pos));
    else duplicates.push({ path: joinPath([...path, key]), at: place(pos), first });
  };

  /** A quoted scalar opening at `q`; a line it runs on to must be indented more than `n`. Returns the position after it. */
  const quoted = (q: number, n: number): number => {
    const mark = src[q]!;
    for (let i = q + 1; i < src.length; i++) {
      const c = src[i];
      if (mark === '"' && c === "\\") {
        i++;
      } else if (c === mark) {
        if (mark === "'" && src[i + 1] === "'") i++;
        else return i + 1;
      } else if (c === "\n") {
        const ind = indentAt(i + 1);
        if (!blank(src[i + 1 + ind]) && ind <= n) fail(q, `the ${mark} opened here is not closed on its line`);
      }
    }
    return fail(q, `the ${mark} opened here is never closed`);
  };

  /** Where a block mapping key starting at `p` has its `:`, or -1 when the line holds no key there. */
  const keyColon = (p: number): number => {
    const c = src[p];
    if (c === undefined || c === "[" || c === "{" || c === "#" || isSeqItem(p)) return -1;
    let i = p;
    if (c === '"' || c === "'") {
      for (i++; i < src.length && src[i] !== "\n"; i++) {
        if (c === '"' && src[i] === "\\") i++;
        else if (src[i] === c) {
          if (c === "'" && src[i + 1] === "'") i++;
          else break;
        }
      }
      if (src[i] !== c) return -1;
      for (i++; src[i] === " " || src[i] === "\t"; i++);
      return src[i] === ":" && blank(src[i + 1]) ? i : -1;
    }
    for (; i < src.length && src[i] !== "\n"; i++) {
      if (src[i] === "#" && i > p && blank(src[i - 1])) return -1;
      if (src[i] === ":" && blank(src[i + 1])) return i;
    }
    return -1;
  };

  /** Skips spaces, line breaks and comments inside the flow collection opened at `open`. */
  const flowSpace = (i: number, n: number, open: number): number => {
    for (;;) {
      const c = src[i];
      if (c === " " || c === "\t") i++;
      else if (c === "#" && blank(src[i - 1])) i = lineEnd(i);
      else if (c === "\n") {
        const ind = indentAt(i + 1);
        const d = src[i + 1 + ind];
        // A line it runs on to is indented more than its key; one starting with , : ] or } may sit lower.
        if (!blank(d) && !"#,:]}".includes(d!) && ind <= n) {
          fail(open, `the ${src[open]} opened here is not closed before line ${place(i + 1).line} (a list or map that goes on to more lines must indent them)`);
        }
        i++;
      } else return i;
    }
  };

  /** A plain scalar inside a flow collection; returns the position after its last non-space character. */
  const flowPlain = (i: number, n: number, open: number): number => {
    if ("@`%#".includes(src[i]!)) fail(i, `a value cannot start with ${src[i]}: quote it`);
    if (isSeqItem(i)) fail(i, "a block list item (- ) inside brackets: write [a, b] without dashes");
    let end = i;
    for (;;) {
      const c = src[i];
      if (c === undefined || isFlowIndicator(c)) return end;
      if (c === ":" && (blank(src[i + 1]) || isFlowIndicator(src[i + 1]))) return end;
      if (c === "#" && blank(src[i - 1])) return end;
      if (c === "\n") {
        const j = flowSpace(i, n, open);
        if (j >= src.length || ",[]{}:#".includes(src[j]!)) return end;
        i = j;
        continue;
      }
      if (c !== " " && c !== "\t") end = i + 1;
      i++;
    }
  };

  const flowNode = (i: number, n: number, open: number, path: readonly PropertyKey[]): number => {
    const c = src[i];
    if (c === "[" || c === "{") return flow(i, n, path);
    if (c === '"' || c === "'") return quoted(i, n);
    return flowPlain(i, n, open);
  };

  /** A flow list or map opening at `open`, inside a block indented `n`; returns the position after its closing bracket. */
  const flow = (open: number, n: number, path: readonly PropertyKey[]): number => {
    if (path.length > MAX_YAML_DEPTH) fail(open, `nested more than ${MAX_YAML_DEPTH} levels deep`);
    const close = src[open] === "[" ? "]" : "}";
    const keys = close === "}" ? new Map<string, YamlPlace>() : undefined;
    let i = open + 1;
    for (let index = 0; ; index++) {
      i = flowSpace(i, n, open);
      let c = src[i];
      if (c === undefined) return fail(open, `the ${src[open]} opened here is never closed`);
      if (c === "]" || c === "}") {
        if (c !== close) fail(i, `${c} does not close the ${src[open]} opened at ${at(open)}`);
        return i + 1;
      }
      if (c === ",") fail(i, "an empty entry: a comma with nothing before it");
      const start = i;
      const end = flowNode(i, n, open, [...path, index]);
      i = flowSpace(end, n, open);
      if (src[i] === ":") {
        const key = keyText(start, end);
        if (keys) record(keys, key, start, path);
        i = flowSpace(i + 1, n, open);
        if (src[i] !== undefined && src[i] !== "," && src[i] !== "]" && src[i] !== "}") i = flowSpace(flowNode(i, n, open, [...path, keys ? key : index]), n, open);
      } else if (keys) {
        record(keys, keyText(start, end), start, path);
      }
      c = src[i];
      if (c === ",") i++;
      else if (c === undefined) return fail(open, `the ${src[open]} opened here is never closed`);
      else if (c !== "]" && c !== "}") fail(i, `expected , or ${close} here`);
    }
  };

  /** Lines of a `|` or `>` block scalar: blank or indented more than `n`. */
  const blockScalar = (p: number, n: number): number => {
    let i = p + 1;
    while (/[-+0-9]/.test(src[i] ?? "")) i++;
    let ls = restOfLine(i, `the ${src[p]} of a block text`);
    while (ls < src.length) {
      const ind = indentAt(ls);
      if (!blank(src[ls + ind]) && ind <= n) break;
      ls = nextLine(ls);
    }
    return contentLine(ls);
  };

  /** A value that starts on a line of its own or after `key: ` / `- `, in a block indented `n`. Returns the next content line, or -1. */
  const inlineValue = (p: number, n: number, path: readonly PropertyKey[]): number => {
    const c = src[p]!;
    if (c === "[" || c === "{") return contentLine(restOfLine(flow(p, n, path), `the closing ${c === "[" ? "]" : "}"}`));
    if (c === '"' || c === "'") return contentLine(restOfLine(quoted(p, n), "the closing quote"));
    if (c === "|" || c === ">") return blockScalar(p, n);
    if (c === "]" || c === "}") fail(p, `a ${c} with no ${c === "]" ? "[" : "{"} before it`);
    if (c === "@" || c === "`" || c === "%") fail(p, `a value cannot start with ${c}: quote it`);
    if (isSeqItem(p)) fail(p, "a list cannot start on its key's line: put its items on the lines below, or write [a, b]");
    // A plain value: the rest of the line, and the more indented lines after it (folded into one).
    const firstLine = place(p).line;
    for (let from = p; ; ) {
      let comment = false;
      for (let i = from; i < src.length && src[i] !== "\n" && !comment; i++) {
        comment = src[i] === "#" && blank(src[i - 1]);
        if (src[i] === ":" && blank(src[i + 1])) {
          if (from === p) fail(i, '": " inside a value: quote the value, or put a nested mapping on the lines below its key');
          fail(from, `unexpected indentation: line ${firstLine} already has its value, so this line cannot sit under it`);
        }
      }
      // A comment ends the value: a more indented line after it is out of place (the caller says so).
      if (comment) return contentLine(nextLine(from));
      let ls = nextLine(from);
      while (ls < src.length && /^[ \t]*(\n|$)/.test(src.slice(ls, lineEnd(ls) + 1))) ls = nextLine(ls);
      if (ls >= src.length) return -1;
      const ind = indentAt(ls);
      if (ind <= n || src[ls + ind] === "#") return contentLine(ls);
      from = ls + ind;
    }
  };

  /** A block node whose first character is at `p`, column `n`, inside a block indented `parent`. */
  const blockNode = (p: number, n: number, parent: number, path: readonly PropertyKey[]): number => {
    if (path.length > MAX_YAML_DEPTH) fail(p, `nested more than ${MAX_YAML_DEPTH} levels deep`);
    if (isSeqItem(p)) return blockSeq(p, n, path);
    if (keyColon(p) >= 0) return blockMap(p, n, path);
    return inlineValue(p, parent, path);
  };

  const misplaced = (ls: number, ind: number) =>
    fail(ls + ind, `unexpected indentation (${ind} space${ind === 1 ? "" : "s"}): this line lines up with no key or list item above it`);

  const blockMap = (first: number, n: number, path: readonly PropertyKey[]): number => {
    const keys = new Map<string, YamlPlace>();
    for (let p = first; ; ) {
      const colon = keyColon(p);
      if (colon < 0) {
        if (isSeqItem(p)) fail(p, "a list item where a key was expected: indent it under its key");
        fail(p, `expected a key and ": " here, like the key on line ${place(first).line}`);
      }
      if ("]}@`%".includes(src[p]!)) fail(p, `a key cannot start with ${src[p]}: quote it`);
      const key = keyText(p, colon);
      record(keys, key, p, path);
      const keyPath = [...path, key];
      let q = colon + 1;
      while (src[q] === " " || src[q] === "\t") q++;
      let next: number;
      if (q >= src.length || src[q] === "\n" || src[q] === "#") {
        const ls = contentLine(nextLine(q));
        const ind = ls < 0 ? 0 : indentAt(ls);
        if (ls < 0 || isDocMarker(ls)) next = ls;
        else if (ind > n) next = blockNode(ls + ind, ind, n, keyPath);
        else if (ind === n && isSeqItem(ls + n)) next = blockSeq(ls + n, n, keyPath);
        else next = ls;
      } else {
        next = inlineValue(q, n, keyPath);
      }
      if (next < 0 || isDocMarker(next)) return next;
      const ind = indentAt(next);
      if (ind < n) return next;
      if (ind > n) misplaced(next, ind);
      p = next + n;
    }
  };

  const blockSeq = (first: number, n: number, path: readonly PropertyKey[]): number => {
    for (let p = first, index = 0; ; index++) {
      const itemPath = [...path, index];
      let q = p + 1;
      while (src[q] === " ") q++;
      let next: number;
      if (q >= src.length || src[q] === "\n" || src[q] === "#" || src[q] === "\t") {
        const ls = contentLine(nextLine(q));
        const ind = ls < 0 ? 0 : indentAt(ls);
        next = ls >= 0 && !isDocMarker(ls) && ind > n ? blockNode(ls + ind, ind, n, itemPath) : ls;
      } else {
        next = blockNode(q, q - lineStart(q), n, itemPath);
      }
      if (next < 0 || isDocMarker(next)) return next;
      const ind = indentAt(next);
      if (ind < n) return next;
      if (ind > n) misplaced(next, ind);
      if (!isSeqItem(next + n)) return next;
      p = next + n;
    }
  };

  try {
    let ls = contentLine(0);
    while (ls >= 0 && src[ls] === "%") ls = contentLine(nextLine(ls));
    if (ls >= 0 && src.startsWith("---", ls) && blank(src[ls + 3])) {
      const rest = src.slice(ls + 3, lineEnd(ls)).trim();
      // A document that starts on its `---` line: rare in a config; leave it to Bun.
      if (rest !== "" && !rest.startsWith("#")) return { duplicates };
      ls = contentLine(nextLine(ls));
    }
    if (ls >= 0 && !isDocMarker(ls)) {
      const top = indentAt(ls);
      const next = blockNode(ls + top, top, -1, []);
      // What follows the top node: another document (Bun's answer then is not a mapping), or a stray line.
      if (next >= 0 && !isDocMarker(next)) {
        const ind = indentAt(next);
        if (ind === top && isSeqItem(ls + top)) fail(next + ind, "expected another list item (- …) here, like the lines above");
        misplaced(next, ind);
      }
    }
  } catch (stop) {
    if (!(stop instanceof YamlScanStop)) throw stop;
  }
  return { ...(error ? { error } : {}), duplicates };
}

/** Whether Bun parses the first `lineCount` lines of `text`. */
export function yamlParses(text: string, lineCount: number): boolean {
  try {
    Bun.YAML.parse(text.split("\n").slice(0, lineCount).join("\n"));
    return true;
  } catch {
    return false;
  }
}

/**
 * Where Bun's parser first refuses the text, when the scan could not say: the first line whose
 * prefix no longer parses (a bisection, so a large file costs a few parses).
 */
export function firstUnparsableLine(text: string): number | undefined {
  let lo = 0;
  let hi = text.split("\n").length;
  if (yamlParses(text, hi)) return undefined;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (yamlParses(text, mid)) lo = mid;
    else hi = mid;
  }
  return hi;
}
