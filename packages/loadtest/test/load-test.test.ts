import { join } from 'node:path';
import { expect } from 'chai';
import { useCluster } from '../../cluster/test/helpers/cluster-fixture.js';
import { parseLoadTestArgs } from '../src/args.js';
import { runLoadTest, type LoadTestProgress } from '../src/load-test.js';
import { formatMarkdown } from '../src/report.js';

describe('load test against a real cluster', function () {
  this.timeout(30_000);
  const fixture = useCluster();

  it('delivers every say once and in order to every observer of its room', async () => {
    const { cluster } = fixture;
    const options = parseLoadTestArgs([
      '--base', cluster.publicUrl,
      '--observers', '20',
      '--rooms', '2',
      '--rate', '10',
      '--duration', '3',
      '--grace', '5',
      '--warmup', '0.5',
      '--cluster', join(cluster.runDir, 'cluster.json'),
    ]);
    const progress: LoadTestProgress[] = [];
    const report = await runLoadTest(options, { onProgress: (snapshot) => progress.push(snapshot) });

    expect(report.says.scheduled).to.equal(30);
    expect(report.says.acknowledged).to.equal(30);
    expect(report.says.errors).to.equal(0);
    const { deliveries } = report;
    expect(deliveries).to.deep.include({ lost: 0, duplicated: 0, reordered: 0, gaps: 0, completeObservers: 20 });
    // 10 observers per room: every say reaches each of them once.
    expect(deliveries.expectedDeliveries).to.equal(30 * 10);
    expect(deliveries.acknowledgedDeliveries).to.equal(30 * 10);
    expect(deliveries.deliveries).to.equal(30 * 10);
    expect(deliveries.latencyMs.count).to.equal(300);
    expect(deliveries.latencyMs.p99).to.be.at.least(deliveries.latencyMs.p50);
    expect(report.says.latencyMs.count).to.equal(30);
    expect(report.observes.errors).to.equal(0);

    // Every cluster process was measured, chatservers included.
    const roles = new Set(report.processes.map((entry) => entry.role));
    for (const role of ['web', 'worker', 'chatserver', 'nginx', 'redis']) expect(roles, role).to.include(role);
    for (const entry of report.processes) expect(entry.rssEndBytes).to.be.above(0);
    expect(progress.length).to.be.above(0);
    expect(formatMarkdown(report)).to.include('| lost / duplicated / reordered / gaps | 0 / 0 / 0 / 0 |');
    // It drained as soon as everything had arrived, well inside the grace.
    expect(report.phasesMs.draining).to.be.below(4000);
  });
});

describe('load test: sayers swept from presence', function () {
  this.timeout(40_000);
  // Presence is observing; the generator's sayers never observe, so with a 1 s
  // timeout the sweeper takes them out of their rooms while they still say.
  const fixture = useCluster({ env: { PARLEY_PRESENCE_TIMEOUT_MS: '1000', PARLEY_PRESENCE_SWEEP_MS: '200' } });

  it('enters again after a 409 not_in_room and retries with the same clientId, losing nothing', async () => {
    const { cluster } = fixture;
    const options = parseLoadTestArgs([
      '--base', cluster.publicUrl,
      '--observers', '4',
      '--rooms', '1',
      '--rate', '5',
      '--duration', '4',
      '--grace', '5',
      '--warmup', '1.5',
      '--cluster', join(cluster.runDir, 'cluster.json'),
    ]);
    const report = await runLoadTest(options);

    expect(report.says.reentered).to.be.above(0);
    expect(report.says.errors).to.equal(0);
    expect(report.says.acknowledged).to.equal(20);
    expect(report.deliveries).to.deep.include({ lost: 0, duplicated: 0, reordered: 0, completeObservers: 4 });
    expect(report.deliveries.acknowledgedDeliveries).to.equal(20 * 4);
  });
});
