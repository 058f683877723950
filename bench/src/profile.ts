import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { PhaseWindow } from './scenario.js';

/** The parts of a V8 `.cpuprofile` (written by `node --cpu-prof`) that the summary reads. */
export interface CpuProfile {
  nodes: Array<{
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
  }>;
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Self time of one function (or module) in a phase. */
export interface HotSpot {
  name: string;
  selfMs: number;
  /** Share of the busy (non-idle) time of the phase, percent. */
  percent: number;
  /** Self time per unit of the phase's work (µs per socket opened or frame delivered). */
  usPerUnit?: number;
}

/** Where one process spent its CPU during one phase. */
export interface ProfileSummary {
  file: string;
  phase: PhaseWindow['name'];
  busyMs: number;
  idleMs: number;
  /** Sockets opened (connect) or frames delivered (burst, fixed rate) in the phase. */
  units?: number;
  /** Busy time per unit, µs: what one connect or one delivered frame cost this process. */
  busyUsPerUnit?: number;
  /** Top functions by self time. */
  functions: HotSpot[];
  /** Self time by module: a package, a service source file, Node internals, GC. */
  modules: HotSpot[];
}

/** `.../node_modules/.pnpm/ws@8.23.0/node_modules/ws/lib/sender.js` -> `ws/lib/sender.js`. */
function shortPath(url: string): string {
  const pnpm = url.lastIndexOf('/node_modules/');
  if (pnpm >= 0) return url.slice(pnpm + '/node_modules/'.length);
  const apps = url.indexOf('/apps/');
  if (apps >= 0) return url.slice(apps + 1);
  const packages = url.indexOf('/packages/');
  if (packages >= 0) return url.slice(packages + 1);
  return url.replace(/^file:\/\//, '');
}

function moduleOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node internals';
  const nodeModules = url.lastIndexOf('/node_modules/');
  if (nodeModules >= 0) {
    const rest = url.slice(nodeModules + '/node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url);
  }
  return shortPath(url);
}

function top(
  map: Map<string, number>,
  busyUs: number,
  count: number,
  units: number | undefined,
): HotSpot[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, us]) => ({
      name,
      selfMs: Math.round(us / 100) / 10,
      percent: busyUs > 0 ? Math.round((us / busyUs) * 1000) / 10 : 0,
      ...(units ? { usPerUnit: Math.round((us / units) * 100) / 100 } : {}),
    }));
}

/**
 * Self time per function and per module inside one phase window. Each sample is weighted by the
 * time until the next one; `(idle)` is kept out of the percentages so they read as "share of the
 * work".
 */
export function summarizeProfile(
  profile: CpuProfile,
  window: PhaseWindow | readonly PhaseWindow[],
  file: string,
  count = 16,
): ProfileSummary {
  // A phase may come in several pieces (the connect phase runs in two halves).
  const pieces: readonly PhaseWindow[] = Array.isArray(window) ? window : [window as PhaseWindow];
  const inPhase = (time: number): boolean =>
    pieces.some((piece) => time >= piece.startUs && time <= piece.endUs);
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const units = pieces.reduce<number | undefined>(
    (sum, piece) => (piece.units === undefined ? sum : (sum ?? 0) + piece.units),
    undefined,
  );
  const functions = new Map<string, number>();
  const modules = new Map<string, number>();
  let busyUs = 0;
  let idleUs = 0;
  let time = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    time += profile.timeDeltas[i] ?? 0;
    const weight = profile.timeDeltas[i + 1] ?? 0;
    if (!inPhase(time)) continue;
    const frame = frames.get(profile.samples[i]!);
    if (!frame) continue;
    if (frame.functionName === '(idle)') {
      idleUs += weight;
      continue;
    }
    busyUs += weight;
    const name = `${frame.functionName || '(anonymous)'}${frame.url ? ` ${shortPath(frame.url)}:${frame.lineNumber + 1}` : ''}`;
    functions.set(name, (functions.get(name) ?? 0) + weight);
    const module = moduleOf(frame.url, frame.functionName);
    modules.set(module, (modules.get(module) ?? 0) + weight);
  }
  return {
    file,
    phase: pieces[0]?.name ?? 'connect',
    busyMs: Math.round(busyUs / 1000),
    idleMs: Math.round(idleUs / 1000),
    ...(units ? { units, busyUsPerUnit: Math.round((busyUs / units) * 100) / 100 } : {}),
    functions: top(functions, busyUs, count, units),
    modules: top(modules, busyUs, count, units),
  };
}

/** Summaries of every `.cpuprofile` in `dir` written since `sinceMs`, for each window. */
export function summarizeProfiles(
  dir: string,
  windows: readonly PhaseWindow[],
  sinceMs: number,
): ProfileSummary[] {
  const files = readdirSync(dir)
    .filter((name) => name.endsWith('.cpuprofile'))
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).mtimeMs >= sinceMs);
  const summaries: ProfileSummary[] = [];
  for (const path of files) {
    const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
    const phases = [...new Set(windows.map((window) => window.name))];
    for (const phase of phases) {
      const pieces = windows.filter((window) => window.name === phase);
      const summary = summarizeProfile(profile, pieces, path);
      if (summary.busyMs > 0) summaries.push(summary);
    }
  }
  return summaries;
}

function perUnitText(summary: ProfileSummary): string {
  if (summary.busyUsPerUnit === undefined || summary.units === undefined) return '';
  const unit = summary.phase === 'connect' ? 'socket opened' : 'frame delivered';
  return `; ${summary.busyUsPerUnit.toFixed(2)} µs per ${unit} (${summary.units})`;
}

function hotSpotLine(spot: HotSpot): string {
  const us = spot.usPerUnit === undefined ? '' : `${spot.usPerUnit.toFixed(2).padStart(8)} µs`;
  return `    ${spot.percent.toFixed(1).padStart(5)}%${us}  ${spot.name}`;
}

/** A profile summary as indented text for the terminal. */
export function formatProfileSummary(summary: ProfileSummary): string {
  const lines = [
    `${summary.phase}: ${summary.busyMs} ms busy, ${summary.idleMs} ms idle${perUnitText(summary)} (${summary.file})`,
    '  by module:',
    ...summary.modules.map(hotSpotLine),
    '  by function (self time):',
    ...summary.functions.map(hotSpotLine),
  ];
  return lines.join('\n');
}
