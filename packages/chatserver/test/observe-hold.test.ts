import { expect } from 'chai';
import { holdMs } from '../src/observe.js';

describe('observe hold time', () => {
  it('holds the full wait when the jitter draw is zero', () => {
    expect(holdMs(25, 0)).to.equal(25_000);
  });

  it('takes off at most 10 % of a short wait', () => {
    expect(holdMs(1, 0.999_999)).to.equal(900);
  });

  it('takes off at most 2 s of a long wait, so 55 s polls end by 53 s at the earliest', () => {
    expect(holdMs(55, 0.999_999)).to.equal(53_000);
  });
});
