import { expect } from 'chai';
import { isMetricsScrapeAllowed } from '../src/node/metrics-auth.js';

describe('isMetricsScrapeAllowed', () => {
  it('lets every scrape in when no token is configured', () => {
    expect(isMetricsScrapeAllowed(undefined, '')).to.equal(true);
    expect(isMetricsScrapeAllowed('Bearer anything', '')).to.equal(true);
  });

  it('needs exactly "Bearer <token>" when a token is configured', () => {
    expect(isMetricsScrapeAllowed('Bearer s3cret-token', 's3cret-token')).to.equal(true);
    expect(isMetricsScrapeAllowed(undefined, 's3cret-token')).to.equal(false);
    expect(isMetricsScrapeAllowed('s3cret-token', 's3cret-token')).to.equal(false);
    expect(isMetricsScrapeAllowed('Basic s3cret-token', 's3cret-token')).to.equal(false);
    expect(isMetricsScrapeAllowed('Bearer s3cret-toke', 's3cret-token')).to.equal(false);
    expect(isMetricsScrapeAllowed('Bearer s3cret-token ', 's3cret-token')).to.equal(false);
  });
});
