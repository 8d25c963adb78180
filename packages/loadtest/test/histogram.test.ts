import { expect } from 'chai';
import { Histogram } from '../src/histogram.js';

/** Exact percentile by sorting: the value at rank ceil(p/100 · n). */
function exactPercentile(sorted: number[], percentile: number): number {
  const rank = Math.max(1, Math.ceil((percentile / 100) * sorted.length));
  return sorted[rank - 1] as number;
}

describe('Histogram', () => {
  it('reports zeros when empty', () => {
    const histogram = new Histogram();
    expect(histogram.summary()).to.deep.equal({ count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 });
  });

  it('counts small values exactly', () => {
    const histogram = new Histogram();
    for (let value = 1; value <= 100; value++) histogram.record(value);
    expect(histogram.percentile(50)).to.equal(50);
    expect(histogram.percentile(90)).to.equal(90);
    expect(histogram.percentile(99)).to.equal(99);
    expect(histogram.max).to.equal(100);
    expect(histogram.min).to.equal(1);
    expect(histogram.mean).to.equal(50.5);
  });

  it('keeps every percentile within 1 % of the exact value over nine decades', () => {
    const histogram = new Histogram();
    const values: number[] = [];
    let state = 12345;
    for (let i = 0; i < 50_000; i++) {
      // A deterministic log-uniform spread from 1 to 1e9.
      state = (state * 1103515245 + 12345) % 2 ** 31;
      const value = Math.round(10 ** ((state / 2 ** 31) * 9));
      values.push(value);
      histogram.record(value);
    }
    values.sort((a, b) => a - b);
    for (const percentile of [1, 10, 25, 50, 75, 90, 99, 99.9]) {
      const exact = exactPercentile(values, percentile);
      const reported = histogram.percentile(percentile);
      expect(Math.abs(reported - exact) / exact, `p${percentile}: ${reported} vs ${exact}`).to.be.at.most(0.01);
    }
    expect(histogram.max).to.equal(values[values.length - 1]);
    expect(histogram.count).to.equal(50_000);
  });

  it('places every value in a bucket within 1 % of it, across powers of two', () => {
    for (let value = 200; value < 2 ** 24; value = Math.ceil(value * 1.013) + 1) {
      for (const probe of [value, value + 1, 2 ** Math.ceil(Math.log2(value)) - 1]) {
        // Neighbours far below and above, so the exact min/max clamp cannot hide the bucket's error.
        const histogram = new Histogram();
        for (const recorded of [0, probe, 2 ** 30]) histogram.record(recorded);
        expect(Math.abs(histogram.percentile(50) - probe) / probe, `value ${probe}`).to.be.at.most(0.01);
        const top = new Histogram();
        top.record(0);
        top.record(probe);
        expect(top.percentile(100)).to.equal(probe);
      }
    }
  });

  it('rounds fractions, treats negatives as zero and refuses non-finite values', () => {
    const histogram = new Histogram();
    histogram.record(2.6);
    histogram.record(-5);
    expect(histogram.max).to.equal(3);
    expect(histogram.min).to.equal(0);
    expect(() => histogram.record(Number.NaN)).to.throw(RangeError);
    expect(() => histogram.record(Number.POSITIVE_INFINITY)).to.throw(RangeError);
  });

  it('merges the counts of another histogram', () => {
    const left = new Histogram();
    const right = new Histogram();
    for (let value = 1; value <= 50; value++) left.record(value);
    for (let value = 51; value <= 100; value++) right.record(value * 1000);
    left.merge(right);
    expect(left.count).to.equal(100);
    expect(left.max).to.equal(100_000);
    expect(left.percentile(50)).to.equal(50);
    expect(Math.abs(left.percentile(99) - 99_000) / 99_000).to.be.at.most(0.01);
  });

  it('scales its summary, e.g. microseconds to milliseconds', () => {
    const histogram = new Histogram();
    histogram.record(1500);
    const summary = histogram.summary(1000);
    expect(summary.max).to.equal(1.5);
    expect(Math.abs(summary.p50 - 1.5)).to.be.at.most(0.015);
  });
});
