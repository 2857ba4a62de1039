/**
 * The CLI's progress bar (cli-progress) on standard error. It is shown only
 * on a terminal: piped or redirected output stays free of control
 * characters. Progress is measured in bytes of the export when its size is
 * known (a file, or a node that sends Content-Length), otherwise the line
 * shows the entries applied and the rate only.
 */
import cliProgress from 'cli-progress';
import type { ReplayProgress } from './replay-log.js';

export interface ProgressDisplay {
  update(progress: ReplayProgress): void;
  stop(): void;
}

const silent: ProgressDisplay = { update: () => undefined, stop: () => undefined };

export function createProgressDisplay(
  totalBytes: number | undefined,
  stream: NodeJS.WriteStream = process.stderr,
): ProgressDisplay {
  if (stream.isTTY !== true) return silent;
  const sized = totalBytes !== undefined && totalBytes > 0;
  const format = sized
    ? 'replay [{bar}] {percentage}% | {entries} entries | {rate} entries/s | {attestations} attestations | ETA {eta_formatted}'
    : 'replay {entries} entries | {rate} entries/s | {attestations} attestations | {duration_formatted}';
  const bar = new cliProgress.SingleBar(
    { stream, format, hideCursor: true, clearOnComplete: true, fps: 5, etaBuffer: 50 },
    cliProgress.Presets.shades_classic,
  );
  const startedMs = performance.now();
  const payload = (progress: ReplayProgress): Record<string, string> => {
    const seconds = (performance.now() - startedMs) / 1000;
    return {
      entries: progress.entriesApplied.toLocaleString('en-US'),
      rate: seconds > 0 ? Math.round(progress.entriesApplied / seconds).toLocaleString('en-US') : '0',
      attestations: progress.attestationsChecked.toLocaleString('en-US'),
    };
  };
  bar.start(sized ? totalBytes : 0, 0, payload({ entriesApplied: 0, bytesRead: 0, attestationsChecked: 0 }));
  return {
    update: (progress) => bar.update(sized ? Math.min(progress.bytesRead, totalBytes) : 0, payload(progress)),
    stop: () => bar.stop(),
  };
}
