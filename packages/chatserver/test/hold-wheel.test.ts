import { expect } from 'chai';
import { HoldWheel } from '../src/hold-wheel.js';

describe('HoldWheel', () => {
  let now = 1_000_000;
  let wheel: HoldWheel<string> | undefined;
  afterEach(() => wheel?.close());

  async function until(condition: () => boolean, timeoutMs = 2000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  it('expires each hold once, never before its time, in order of deadline', async () => {
    const expired: string[] = [];
    wheel = new HoldWheel((item) => expired.push(item), 10, () => now);
    wheel.add('late', 100);
    wheel.add('early', 30);
    wheel.add('middle', 60);
    now += 29;
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(expired).to.deep.equal([]);
    now += 1;
    await until(() => expired.length === 1);
    now += 100;
    await until(() => expired.length === 3);
    expect(expired).to.deep.equal(['early', 'middle', 'late']);
    expect(wheel.size).to.equal(0);
  });

  it('never expires a removed hold', async () => {
    const expired: string[] = [];
    wheel = new HoldWheel((item) => expired.push(item), 10, () => now);
    const slot = wheel.add('gone', 20);
    wheel.add('kept', 20);
    wheel.remove('gone', slot);
    now += 50;
    await until(() => expired.length === 1);
    expect(expired).to.deep.equal(['kept']);
  });
});
