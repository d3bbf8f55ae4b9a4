// Summarises a V8 .cpuprofile (node --cpu-prof): self time per function, self time per package, and
// inclusive time of the project's own functions, optionally only for samples inside a time window
// (CLOCK_MONOTONIC microseconds, the clock of process.hrtime in every process on the machine).
// Project files run through tsx, whose esbuild output is whitespace-minified (every function on line 1)
// and wraps function expressions in __name(…) (so V8 calls them "(anonymous)"): positions are mapped back
// to the .ts line, and anonymous functions named from the code around them, with the source maps in
// tsx's on-disk cache (the entry whose code matches the profile's named functions).
// Used by bench/serving.ts --profile; also runs alone: npx tsx bench/cpuprofile-summary.ts FILE [TOP]
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame { functionName: string; url: string; lineNumber: number; columnNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
interface CpuProfile { nodes: ProfileNode[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] }

export interface ProfileSummary {
  /** Sampled milliseconds counted (inside the window), idle included. */
  totalMs: number;
  idleMs: number;
  windowed: boolean;
  self: { name: string; where: string; pkg: string; ms: number }[];
  byPackage: { pkg: string; ms: number }[];
  inclusive: { name: string; where: string; ms: number }[];
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function packageOf(url: string, name: string): string {
  if (!url) return name.startsWith('(') ? name : '(native/V8)';
  if (url.startsWith('node:')) return 'node internals';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1];
  if (url.startsWith('file://') && url.includes(ROOT)) return 'project';
  if (url.startsWith('wasm://')) return 'wasm code';
  return 'other';
}

function shortPath(url: string): string {
  let u = url.replace(/^file:\/\//, '');
  if (u.startsWith(ROOT)) u = relative(ROOT, u);
  return u.replace(/^.*node_modules\//, '');
}

// --- tsx source maps -----------------------------------------------------------------------------
interface TsxEntry { code: string; map: { mappings: string; sources: string[] }; mtimeMs: number; lines?: number[][][] }

function tsxCacheEntries(): Map<string, TsxEntry[]> {
  const bySource = new Map<string, TsxEntry[]>();
  const uid = process.geteuid ? process.geteuid() : userInfo().username;
  const dir = join(tmpdir(), `tsx-${uid}`);
  let names: string[] = [];
  try { names = readdirSync(dir); } catch { return bySource; }
  for (const name of names) {
    const file = join(dir, name);
    try {
      const st = statSync(file);
      if (!st.isFile()) continue;
      const e = JSON.parse(readFileSync(file, 'utf8')) as TsxEntry;
      const src = e?.map?.sources?.[0];
      if (typeof e.code !== 'string' || typeof src !== 'string') continue;
      e.mtimeMs = st.mtimeMs;
      bySource.set(src, [...(bySource.get(src) ?? []), e]);
    } catch { /* not a cache entry */ }
  }
  return bySource;
}

const B64 = new Map([...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'].map((c, i) => [c, i]));
/** Per generated line: segments [generatedColumn, sourceLine] (0-based), from a v3 source map. */
function decodeMappings(mappings: string): number[][][] {
  const lines: number[][][] = [];
  let srcLine = 0;
  for (const lineStr of mappings.split(';')) {
    const segs: number[][] = [];
    let col = 0;
    for (const seg of lineStr.split(',')) {
      if (!seg) continue;
      const vals: number[] = [];
      let shift = 0;
      let value = 0;
      for (const ch of seg) {
        const d = B64.get(ch) ?? 0;
        value += (d & 31) << shift;
        if (d & 32) { shift += 5; continue; }
        vals.push(value & 1 ? -(value >>> 1) : value >>> 1);
        value = 0;
        shift = 0;
      }
      col += vals[0];
      if (vals.length >= 4) {
        srcLine += vals[2];
        segs.push([col, srcLine]);
      }
    }
    lines.push(segs);
  }
  return lines;
}

function originalLine(e: TsxEntry, line: number, col: number): number | null {
  e.lines ??= decodeMappings(e.map.mappings);
  const segs = e.lines[line];
  if (!segs || segs.length === 0) return null;
  let best: number[] | null = null;
  for (const s of segs) { if (s[0] <= col) best = s; else break; }
  return (best ?? segs[0])[1];
}

/** A name for a function expression from the code just before its parameter list. */
function nameFromContext(code: string, col: number): string | null {
  const before = code.slice(Math.max(0, col - 160), col);
  const patterns: [RegExp, (m: RegExpExecArray) => string][] = [
    [/([\w$]+)\s*=\s*(?:__name\()?\s*(?:async\s*)?(?:function\*?\s*[\w$]*\s*)?$/, (m) => m[1]],
    [/([\w$]+)\s*:\s*(?:__name\()?\s*(?:async\s*)?(?:function\*?\s*[\w$]*\s*)?$/, (m) => m[1]],
    [/\.([\w$]+)\(\s*(?:__name\()?\s*(?:async\s*)?(?:function\*?\s*[\w$]*\s*)?$/, (m) => `(callback of .${m[1]})`],
    [/(?:^|[^\w$.])([\w$]+)\(\s*(?:[^()]*,\s*)?(?:__name\()?\s*(?:async\s*)?$/, (m) => `(callback of ${m[1]})`],
  ];
  for (const [re, f] of patterns) {
    const m = re.exec(before);
    if (m && m[1] !== '__name') return f(m);
  }
  return null;
}

interface FrameInfo { name: string; where: string; pkg: string }

function frameResolver(nodes: ProfileNode[]): (n: ProfileNode) => FrameInfo {
  const tsx = tsxCacheEntries();
  // Per project file: the cache entry whose code has the profile's named functions where V8 saw them.
  const chosen = new Map<string, TsxEntry | null>();
  const framesByUrl = new Map<string, CallFrame[]>();
  for (const n of nodes) {
    const u = n.callFrame.url;
    if (u.startsWith('file://') && /\.[cm]?tsx?$/.test(u)) framesByUrl.set(u, [...(framesByUrl.get(u) ?? []), n.callFrame]);
  }
  for (const [url, frames] of framesByUrl) {
    const candidates = tsx.get(fileURLToPath(url)) ?? [];
    let best: TsxEntry | null = null;
    let bestScore = -1;
    for (const e of candidates) {
      const lines = e.code.split('\n');
      let score = 0;
      let ok = true;
      for (const f of frames) {
        const text = lines[f.lineNumber];
        if (text === undefined || f.columnNumber > text.length) { ok = false; break; }
        const name = f.functionName;
        if (name && text.slice(Math.max(0, f.columnNumber - 200), f.columnNumber).includes(name)) score++;
        else if (name) score -= 1;
      }
      if (!ok) continue;
      if (score > bestScore || (score === bestScore && best && e.mtimeMs > best.mtimeMs)) { best = e; bestScore = score; }
    }
    chosen.set(url, best);
  }
  const cache = new Map<number, FrameInfo>();
  return (n) => {
    const hit = cache.get(n.id);
    if (hit) return hit;
    const cf = n.callFrame;
    const pkg = packageOf(cf.url, cf.functionName);
    let name = cf.functionName || '(anonymous)';
    let where = cf.url ? `${shortPath(cf.url)}:${cf.lineNumber + 1}` : '';
    const e = chosen.get(cf.url);
    if (e) {
      const line = originalLine(e, cf.lineNumber, cf.columnNumber);
      if (line !== null) where = `${shortPath(cf.url)}:${line + 1}`;
      if (!cf.functionName) {
        const text = e.code.split('\n')[cf.lineNumber] ?? '';
        const guess = nameFromContext(text, cf.columnNumber);
        if (guess) name = guess;
      }
    }
    const info = { name, where, pkg };
    cache.set(n.id, info);
    return info;
  };
}

export function summarizeCpuProfile(file: string, opts: { fromUs?: number; toUs?: number; top?: number } = {}): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const info = frameResolver(p.nodes);
  const keyOf = (n: ProfileNode) => { const f = info(n); return `${f.name}\u0000${f.where}`; };

  // Sample i happened at startTime + sum(timeDeltas[0..i]); it stands for the interval until the next one.
  const stamps: number[] = new Array(p.samples.length);
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) { t += p.timeDeltas[i]; stamps[i] = t; }
  const windowed = opts.fromUs !== undefined && opts.toUs !== undefined
    && stamps.some((s) => s >= opts.fromUs! && s <= opts.toUs!);

  const self = new Map<string, { name: string; where: string; pkg: string; us: number }>();
  const pkgs = new Map<string, number>();
  const incl = new Map<string, { name: string; where: string; us: number }>();
  let total = 0;
  let idle = 0;
  for (let i = 0; i < p.samples.length; i++) {
    if (windowed && (stamps[i] < opts.fromUs! || stamps[i] > opts.toUs!)) continue;
    const dt = i + 1 < p.samples.length ? p.timeDeltas[i + 1] : 0;
    if (dt <= 0) continue;
    const node = byId.get(p.samples[i]);
    if (!node) continue;
    total += dt;
    const cf = node.callFrame;
    if (cf.functionName === '(idle)') idle += dt;
    const k = keyOf(node);
    const { name, where, pkg } = info(node);
    const s = self.get(k) ?? { name, where, pkg, us: 0 };
    s.us += dt;
    self.set(k, s);
    pkgs.set(pkg, (pkgs.get(pkg) ?? 0) + dt);
    // Inclusive time of project functions: each distinct frame on the stack once per sample.
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const n = byId.get(id)!;
      const f = info(n);
      if (f.pkg !== 'project') continue;
      const key = keyOf(n);
      if (seen.has(key)) continue;
      seen.add(key);
      const e = incl.get(key) ?? { name: f.name, where: f.where, us: 0 };
      e.us += dt;
      incl.set(key, e);
    }
  }
  const top = opts.top ?? 25;
  const ms = (us: number) => us / 1000;
  return {
    totalMs: ms(total),
    idleMs: ms(idle),
    windowed,
    self: [...self.values()].sort((a, b) => b.us - a.us).slice(0, top).map(({ us, ...r }) => ({ ...r, ms: ms(us) })),
    byPackage: [...pkgs.entries()].sort((a, b) => b[1] - a[1]).map(([pkg, us]) => ({ pkg, ms: ms(us) })),
    inclusive: [...incl.values()].sort((a, b) => b.us - a.us).slice(0, top).map(({ us, ...r }) => ({ ...r, ms: ms(us) })),
  };
}

/** Markdown tables; with `requests` (served in the window) each row also shows sampled µs per request. */
export function formatProfileSummary(s: ProfileSummary, title: string, requests?: number): string {
  const busy = s.totalMs - s.idleMs;
  const pct = (x: number) => `${((x / busy) * 100).toFixed(1)}%`;
  const per = requests ? (x: number) => ` ${((x * 1000) / requests).toFixed(1)} |` : () => '';
  const perHead = requests ? ' µs/request |' : '';
  const perRule = requests ? '---:|' : '';
  const out: string[] = [];
  out.push(`${title}: ${(s.totalMs / 1000).toFixed(2)} s sampled${s.windowed ? ' (measured window only)' : ' (whole process lifetime)'}, ` +
    `idle ${((s.idleMs / s.totalMs) * 100).toFixed(1)}%; shares are of the non-idle ${(busy / 1000).toFixed(2)} s` +
    (requests ? `, ${requests.toLocaleString('en-US')} requests served = ${((busy * 1000) / requests).toFixed(1)} sampled µs/request` : ''));
  out.push('', 'self time by package:', `| package | self ms | share |${perHead}`, `|---|---:|---:|${perRule}`);
  for (const r of s.byPackage) if (r.pkg !== '(idle)') out.push(`| ${r.pkg} | ${r.ms.toFixed(0)} | ${pct(r.ms)} |${per(r.ms)}`);
  out.push('', 'top functions by self time:', `| function | where | package | self ms | share |${perHead}`, `|---|---|---|---:|---:|${perRule}`);
  for (const r of s.self) if (r.name !== '(idle)') out.push(`| ${r.name} | ${r.where} | ${r.pkg} | ${r.ms.toFixed(0)} | ${pct(r.ms)} |${per(r.ms)}`);
  out.push('', 'project functions by inclusive time (self + callees):', `| function | where | incl. ms | share |${perHead}`, `|---|---|---:|---:|${perRule}`);
  for (const r of s.inclusive) out.push(`| ${r.name} | ${r.where} | ${r.ms.toFixed(0)} | ${pct(r.ms)} |${per(r.ms)}`);
  return out.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    console.error('usage: npx tsx bench/cpuprofile-summary.ts FILE.cpuprofile [TOP]');
    process.exit(1);
  }
  console.log(formatProfileSummary(summarizeCpuProfile(file, { top: Number(top ?? 25) }), file));
}
