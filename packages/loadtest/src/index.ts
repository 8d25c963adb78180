export { LOADTEST_COMMAND, UsageError, loadTestOptions, parseLoadTestArgs, parseLoopbackBase, type LoadTestOptions } from './args.js';
export { DeliveryTracker, type DeliveryCounts, type ObserverLedger } from './accounting.js';
export { Histogram, type HistogramSummary } from './histogram.js';
export { runLoadTest, type LoadTestHooks, type LoadTestProgress, type LoadTestReport } from './load-test.js';
export { readClusterProcesses, sampleAll, sampleProcess, usageBetween, type MeasuredProcess, type ProcessUsage } from './proc-stats.js';
export { formatMarkdown } from './report.js';
export { formatProgress, progressLine } from './progress.js';
export { defaultSourceCount, startLongPolls, startObservers, type LongPolls, type LongPollsOptions, type DeliveredMessage, type LongPollDialect, type Observers, type ObserversOptions, type RawAnswer } from './long-poll-client.js';
export { lineChartSvg, type ChartSeries, type LineChart } from './svg-chart.js';
