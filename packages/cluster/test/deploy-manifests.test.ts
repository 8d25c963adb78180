import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { parse, parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../src/supervisor.js';

const KUBERNETES_DIR = join(REPO_ROOT, 'deploy/kubernetes');
// The longest hold of a parked observe (chatserver MAX_WAIT_SECONDS).
const LONGEST_HOLD_SECONDS = 55;

/** What these tests read of a Kubernetes object; the schema checks the rest. */
interface KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  file: string;
}

interface Probe {
  httpGet?: { path?: string; port?: string | number };
}
interface Container {
  name: string;
  ports?: Array<{ name?: string; containerPort: number }>;
  env?: Array<{ name: string; value?: string }>;
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
}
interface PodTemplate {
  metadata: { labels: Record<string, string> };
  spec: { terminationGracePeriodSeconds?: number; containers: Container[] };
}

function loadManifests(files: string[]): KubernetesObject[] {
  return files.flatMap((file) =>
    parseAllDocuments(readFileSync(join(KUBERNETES_DIR, file), 'utf8')).map((document) => {
      expect(document.errors, file).to.deep.equal([]);
      return { ...(document.toJS() as Omit<KubernetesObject, 'file'>), file };
    }),
  );
}

/** Validates `object` against the Kubernetes OpenAPI schema of its apiVersion and kind (kubernetes-models, offline). */
async function validateKubernetesObject(object: { apiVersion: string; kind: string }): Promise<void> {
  const models = (await import(`kubernetes-models/${object.apiVersion}`)) as Record<string, new (data: unknown) => { validate(): void }>;
  const Model = models[object.kind];
  if (Model === undefined) throw new Error(`no schema for ${object.apiVersion} ${object.kind}`);
  new Model(object).validate();
}

describe('deploy/kubernetes manifests', function () {
  this.timeout(30_000);
  const kustomization = parse(readFileSync(join(KUBERNETES_DIR, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
  const applied = loadManifests(kustomization.resources);
  const byKind = (kind: string) => applied.filter((object) => object.kind === kind);
  const deployments = byKind('Deployment');

  it('lists every manifest of the folder in kustomization.yaml, except the example Secret', () => {
    const files = readdirSync(KUBERNETES_DIR).filter((file) => file.endsWith('.yaml') && file !== 'kustomization.yaml');
    expect([...kustomization.resources, 'secret.example.yaml'].sort()).to.deep.equal(files.sort());
  });

  it('passes the Kubernetes schema of its kind, every object', async () => {
    for (const object of [...applied, ...loadManifests(['secret.example.yaml'])]) {
      const { file, ...manifest } = object;
      try {
        await validateKubernetesObject(manifest);
      } catch (error) {
        expect.fail(`${file} ${object.kind}/${object.metadata.name}: ${(error as Error).message}`);
      }
    }
  });

  it('refuses a manifest the schema forbids (the check can fail)', async () => {
    const web = structuredClone(deployments.find((object) => object.metadata.name === 'parley-web'));
    const { file: _file, ...manifest } = web ?? expect.fail('no parley-web Deployment');
    const container = (manifest.spec?.template as PodTemplate).spec.containers[0];
    (container?.ports?.[0] as { containerPort: unknown }).containerPort = 'three thousand';
    let error: unknown;
    await validateKubernetesObject(manifest).catch((caught: unknown) => (error = caught));
    expect(String(error)).to.match(/containerPort must be integer/);
  });

  it('runs web, worker and chatserver Deployments probed on /healthz, ending slower than the longest hold', () => {
    expect(deployments.map((object) => object.metadata.name).sort()).to.deep.equal(['parley-chatserver', 'parley-web', 'parley-worker']);
    for (const deployment of deployments) {
      const template = deployment.spec?.template as PodTemplate;
      const [container] = template.spec.containers;
      expect(container?.readinessProbe?.httpGet?.path, deployment.metadata.name).to.equal('/healthz');
      expect(container?.livenessProbe?.httpGet?.path, deployment.metadata.name).to.equal('/healthz');
      expect(container?.envFrom?.map((source) => source.configMapRef?.name ?? source.secretRef?.name)).to.deep.equal(['parley-config', 'parley-secrets']);
    }
    const chatserver = deployments.find((object) => object.metadata.name === 'parley-chatserver')?.spec?.template as PodTemplate;
    expect(chatserver.spec.terminationGracePeriodSeconds).to.be.above(LONGEST_HOLD_SECONDS);
    // Workers POST to each pod, so each advertises its own address.
    expect(chatserver.spec.containers[0]?.env?.find((variable) => variable.name === 'PARLEY_CHAT_ADVERTISE_URL')?.value).to.equal('http://$(POD_IP):4100');
  });

  it('guards every Deployment with a PodDisruptionBudget and scales chatservers with an autoscaler', () => {
    const budgets = byKind('PodDisruptionBudget').map((budget) => (budget.spec?.selector as { matchLabels: Record<string, string> }).matchLabels);
    for (const deployment of deployments) {
      const labels = (deployment.spec?.template as PodTemplate).metadata.labels;
      expect(budgets.some((selector) => Object.entries(selector).every(([key, value]) => labels[key] === value)), deployment.metadata.name).to.equal(true);
    }
    const [autoscaler] = byKind('HorizontalPodAutoscaler');
    expect(autoscaler?.spec?.scaleTargetRef).to.deep.equal({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'parley-chatserver' });
  });

  it('routes like nginx: observe and its stream unbuffered to chatservers with a timeout above the hold, the rest to web, /internal/ closed', () => {
    const ingresses = byKind('Ingress');
    const routes = ingresses.flatMap((ingress) =>
      (ingress.spec?.rules as Array<{ http: { paths: Array<{ path: string; backend: { service: { name: string } } }> } }>).flatMap((rule) =>
        rule.http.paths.map((path) => ({ path: path.path, service: path.backend.service.name, annotations: ingress.metadata.annotations ?? {} })),
      ),
    );
    expect(routes.map(({ path, service }) => `${path} -> ${service}`)).to.deep.equal([
      '/api/observe -> parley-chatserver',
      '/api/observe/stream -> parley-chatserver',
      '/ -> parley-web',
    ]);
    for (const route of routes.slice(0, 2)) {
      const observe = route.annotations;
      expect(observe['nginx.ingress.kubernetes.io/proxy-buffering']).to.equal('off');
      expect(Number(observe['nginx.ingress.kubernetes.io/proxy-read-timeout'])).to.be.above(LONGEST_HOLD_SECONDS);
      expect(observe['nginx.ingress.kubernetes.io/proxy-next-upstream']).to.equal('error');
    }
    expect(routes[2]?.annotations['nginx.ingress.kubernetes.io/server-snippet']).to.match(/location \^~ \/internal\/ \{[^}]*return 404/);
  });

  it('takes PostgreSQL and Redis Sentinel from variables, and names only variables the README documents', () => {
    const [config] = byKind('ConfigMap');
    const data = (config as unknown as { data: Record<string, string> }).data;
    expect(data.PARLEY_REDIS_SENTINELS?.split(',')).to.have.length(3);
    expect(data).to.have.property('PARLEY_REDIS_MASTER');
    const secret = loadManifests(['secret.example.yaml'])[0] as unknown as { stringData: Record<string, string> };
    expect(Object.keys(secret.stringData).sort()).to.deep.equal(['PARLEY_DATABASE_URL', 'PARLEY_METRICS_TOKEN', 'PARLEY_REDIS_URL', 'PARLEY_SECRET']);
    expect(Object.values(secret.stringData).every((value) => value === '')).to.equal(true);
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const named = new Set([
      ...Object.keys(data),
      ...deployments.flatMap((deployment) => (deployment.spec?.template as PodTemplate).spec.containers.flatMap((container) => container.env ?? []).map((variable) => variable.name)),
    ]);
    for (const name of named) if (name.startsWith('PARLEY_')) expect(readme, name).to.include(`\`${name}\``);
  });
});

describe('docker-compose.ha.yml', function () {
  // docker-compose (Python) takes seconds to start on a loaded machine.
  this.timeout(180_000);
  const env = { ...process.env, PARLEY_SECRET: 's'.repeat(64), PARLEY_POSTGRES_PASSWORD: 'a1b2c3d4e5f6' };
  const run = (quiet: boolean) =>
    spawnSync('docker-compose', ['-f', 'docker-compose.ha.yml', 'config', ...(quiet ? ['-q'] : [])], { cwd: REPO_ROOT, env, encoding: 'utf8', timeout: 60_000 });

  before(function () {
    if ((run(true).error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
      console.warn('    skipped: docker-compose is not installed (scripts/setup.sh installs it when run as root)');
      this.skip();
    }
  });

  it('passes docker-compose config validation', () => {
    const result = run(true);
    expect(result.status, `${result.stdout}${result.stderr}`).to.equal(0);
  });

  it('runs PostgreSQL, a Redis primary and replica, three Sentinels and two of each role on the Sentinels', () => {
    const result = run(false);
    expect(result.status, result.stderr).to.equal(0);
    const services = (parse(result.stdout) as { services: Record<string, { command?: string[]; environment?: Record<string, string> }> }).services;
    expect(Object.keys(services).sort()).to.deep.equal(
      ['chat-1', 'chat-2', 'nginx', 'postgres', 'redis-primary', 'redis-replica', 'sentinel-1', 'sentinel-2', 'sentinel-3', 'web-1', 'web-2', 'worker-1', 'worker-2'].sort(),
    );
    expect(services['redis-replica']?.command).to.include('--replicaof');
    for (const name of ['web-1', 'web-2', 'worker-1', 'worker-2', 'chat-1', 'chat-2']) {
      expect(services[name]?.environment?.PARLEY_REDIS_SENTINELS, name).to.equal('sentinel-1:26379,sentinel-2:26379,sentinel-3:26379');
      expect(services[name]?.environment, name).to.not.have.property('PARLEY_REDIS_URL');
    }
  });
});
