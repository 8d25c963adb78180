import { expect } from 'chai';
import { formatProgress } from '../src/progress.js';

describe('progress line', () => {
  const snapshot = {
    phase: 'saying' as const,
    elapsedSeconds: 4,
    totalSeconds: 8,
    saysAcknowledged: 40,
    sayErrors: 0,
    deliveries: 400,
    deliveriesPerSecond: 100,
    latencyP99Ms: 12.34,
  };

  it('shows the share of the run done and the running figures on one line', () => {
    const line = formatProgress(snapshot);
    expect(line).to.match(/^\[#{12}\.{12}\] saying 4\.0\/8s says 40 err 0 deliv 400 \(100\/s\) p99 12\.3ms$/);
  });

  it('fits the terminal width', () => {
    expect(formatProgress(snapshot, 40)).to.have.length(39);
  });
});
