/**
 * Top self-time functions of a V8 .cpuprofile (from `node --cpu-prof`), plus self time per
 * origin (our dist/ code, each node_modules package, Node internals, native/GC), which usually
 * says more than single functions. Usage: node bench/profile-summary.mjs FILE [TOP]
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

/** `dist/…`, a package name, `node:internal`, or `(native)` for V8 builtins, GC, idle and the like. */
function originOf(url) {
  if (!url) return '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  if (url.startsWith('node:')) return 'node:internal';
  const dist = /\/(dist|bench)\/(.*)$/.exec(url);
  return dist ? `${dist[1]}/${dist[2].split('/').slice(0, -1).join('/') || '.'}` : url;
}

export function summarize(profile, top = 25) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = ({ callFrame }) => {
    const file = callFrame.url.replace(/^.*\/(node_modules|dist|bench)\//, '$1/');
    return `${callFrame.functionName || '(anonymous)'}  ${file ? `${file}:${callFrame.lineNumber + 1}` : ''}`;
  };
  const self = new Map();
  /**
   * Time with the function anywhere on the (synchronous) stack, once per sample. After an await the
   * stack restarts at the microtask queue, so async functions get only their synchronous slices.
   */
  const inclusive = new Map();
  const origins = new Map();
  let total = 0;
  let idle = 0;
  // Each sample is attributed to the function on top of the stack; timeDeltas[i] is the time
  // since the previous sample, which is the usual (and V8 DevTools') approximation.
  for (let i = 0; i < profile.samples.length; i++) {
    const { callFrame } = byId.get(profile.samples[i]);
    const dt = profile.timeDeltas[i] ?? 0;
    // Idle time (waiting for I/O) is not a cost; percentages are of busy time.
    if (callFrame.functionName === '(idle)') {
      idle += dt;
      continue;
    }
    total += dt;
    const key = label(byId.get(profile.samples[i]));
    self.set(key, (self.get(key) ?? 0) + dt);
    const seen = new Set();
    for (let id = profile.samples[i]; id !== undefined; id = parent.get(id)) {
      const node = byId.get(id);
      const { url } = node.callFrame;
      if (!url.includes('/dist/') || url.includes('node_modules')) continue;
      const k = label(node);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + dt);
    }
    const origin = originOf(callFrame.url);
    origins.set(origin, (origins.get(origin) ?? 0) + dt);
  }
  const fmt = (entries, n) =>
    [...entries]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(
        ([k, us]) =>
          `${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`,
      )
      .join('\n');
  return `busy ${(total / 1e6).toFixed(1)} s, idle ${(idle / 1e6).toFixed(1)} s\n-- by function (self)\n${fmt(self, top)}\n-- by origin (self)\n${fmt(origins, 15)}\n-- our code (dist/), inclusive of what it calls\n${fmt(inclusive, top)}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, top] = process.argv.slice(2);
  if (!file) throw new Error('usage: node bench/profile-summary.mjs FILE [TOP]');
  console.log(summarize(JSON.parse(fs.readFileSync(file, 'utf8')), Number(top ?? 25)));
}
