import type { HistogramSummary } from './histogram.js';
import type { LoadTestReport } from './load-test.js';

const MIB = 1024 * 1024;

function ms(value: number): string {
  return value < 10 ? value.toFixed(2) : value.toFixed(1);
}

function percentiles(summary: HistogramSummary): string {
  return `${ms(summary.p50)} / ${ms(summary.p90)} / ${ms(summary.p99)} / ${ms(summary.max)}`;
}

/** The report as Markdown: one table of the run's figures, one of the cluster's processes. */
export function formatMarkdown(report: LoadTestReport): string {
  const { options, says, deliveries } = report;
  const rows: Array<[string, string]> = [
    ['target', `${report.base} (run ${report.runId}, ${report.startedAt})`],
    ['load', `${options.observers} observers over ${options.rooms} rooms, ${options.rate} says/s for ${options.duration} s, ${options.textBytes}-byte texts`],
    ['says acknowledged / scheduled', `${says.acknowledged} / ${says.scheduled} (errors ${says.errors}, shed ${says.shed}, re-entered ${says.reentered}, ${says.achievedPerSecond}/s)`],
    ['say latency p50 / p90 / p99 / max (ms)', percentiles(says.latencyMs)],
    ['say→deliver p50 / p90 / p99 / max (ms)', percentiles(deliveries.latencyMs)],
    ['deliveries / expected', `${deliveries.acknowledgedDeliveries} / ${deliveries.expectedDeliveries} (all receipts ${deliveries.deliveries})`],
    ['deliveries per second (mean / peak)', `${deliveries.perSecondMean} / ${deliveries.perSecondPeak}`],
    ['lost / duplicated / reordered / gaps', `${deliveries.lost} / ${deliveries.duplicated} / ${deliveries.reordered} / ${deliveries.gaps}`],
    ['observes answered / failed', `${report.observes.answers} / ${report.observes.errors}`],
    ['generator CPU s / RSS MiB', `${report.generator.cpuSeconds} / ${(report.generator.rssBytes / MIB).toFixed(1)}`],
  ];
  const lines = ['| metric | value |', '|---|---|', ...rows.map(([name, value]) => `| ${name} | ${value} |`)];
  if (report.processes.length > 0) {
    lines.push('', '| process | pid | CPU s | RSS start MiB | RSS end MiB | RSS peak MiB |', '|---|---:|---:|---:|---:|---:|');
    for (const process of report.processes) {
      lines.push(
        `| ${process.name} | ${process.pid} | ${process.cpuSeconds.toFixed(2)} | ${(process.rssStartBytes / MIB).toFixed(1)} | ${(process.rssEndBytes / MIB).toFixed(1)} | ${(process.rssPeakBytes / MIB).toFixed(1)} |`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}
