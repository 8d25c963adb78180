import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Every namespace, veth and bridge Parley makes starts with this, then a 4-hex tag. */
export const NETNS_PREFIX = 'pl';

/** One simulated machine: a network namespace joined to the bridge by a veth pair. */
export interface NetnsHost {
  /** Short host name, e.g. `a`. */
  readonly name: string;
  /** The namespace, e.g. `pl3f2a-a`. */
  readonly namespace: string;
  /** Its one address on the bridge's subnet. */
  readonly address: string;
  /** The veth end left in the root namespace, attached to the bridge (detached while partitioned). */
  readonly hostVeth: string;
}

/** Namespaces on one bridge; the root namespace reaches them through the bridge's address. */
export interface HostNetwork {
  readonly tag: string;
  readonly bridge: string;
  /** The root namespace's address on the bridge (nginx and the supervisor reach the hosts from it). */
  readonly rootAddress: string;
  hosts(): NetnsHost[];
  host(name: string): NetnsHost;
  /** Creates one more host on the bridge (live scale). */
  addHost(name: string): Promise<NetnsHost>;
  /** Kills whatever still runs in the host's namespace and deletes it with its veth. */
  removeHost(name: string): Promise<void>;
  /** Detaches the host's veth from the bridge: its connections time out, silently, both ways. */
  partition(name: string): Promise<void>;
  /** Attaches it again. */
  heal(name: string): Promise<void>;
  /** The command prefix that runs a program inside the host's namespace. */
  execPrefix(name: string): string[];
  /** Removes every host and the bridge. Idempotent; never throws. */
  destroy(): Promise<void>;
}

async function ip(...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('ip', args, { timeout: 10_000 });
  return stdout;
}

/**
 * Why a multihost cluster cannot run here, or `undefined` when it can: it
 * needs root and `ip netns` (creating a namespace is the only sure test).
 */
export async function multihostUnavailableReason(): Promise<string | undefined> {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'needs root (network namespaces)';
  const probe = `${NETNS_PREFIX}probe${process.pid % 10_000}`;
  try {
    await ip('netns', 'add', probe);
    await ip('netns', 'delete', probe);
    return undefined;
  } catch (error) {
    return `ip netns is not available: ${String((error as { stderr?: unknown }).stderr ?? (error as Error).message).trim()}`;
  }
}

/**
 * Creates a bridge in the root namespace and one namespace per name in
 * `names`, each with one veth on the bridge and address `10.213.N.(i+1)/24`.
 * On failure removes what it made.
 */
export async function createHostNetwork(names: readonly string[], tag = randomBytes(2).toString('hex')): Promise<HostNetwork> {
  const bridge = `${NETNS_PREFIX}${tag}br`;
  // One /24 per tag, so two runs (a test and `start:multihost`) never share addresses.
  const subnet = `10.213.${Number.parseInt(tag, 16) % 250}`;
  const rootAddress = `${subnet}.254`;
  const hosts = new Map<string, NetnsHost>();
  let nextOctet = 1;

  const network: HostNetwork = {
    tag,
    bridge,
    rootAddress,
    hosts: () => [...hosts.values()],
    host(name) {
      const host = hosts.get(name);
      if (host === undefined) throw new Error(`no host ${name} in network ${tag}`);
      return host;
    },
    async addHost(name) {
      if (!/^[a-z0-9]{1,4}$/.test(name)) throw new Error(`host name ${JSON.stringify(name)}: 1 to 4 lowercase letters or digits`);
      const host: NetnsHost = {
        name,
        namespace: `${NETNS_PREFIX}${tag}-${name}`,
        address: `${subnet}.${nextOctet++}`,
        hostVeth: `${NETNS_PREFIX}${tag}${name}`,
      };
      hosts.set(name, host);
      const inside = `${host.hostVeth}i`;
      await ip('netns', 'add', host.namespace);
      await ip('link', 'add', host.hostVeth, 'type', 'veth', 'peer', 'name', inside);
      await ip('link', 'set', inside, 'netns', host.namespace);
      await ip('link', 'set', host.hostVeth, 'master', bridge);
      await ip('link', 'set', host.hostVeth, 'up');
      await ip('-n', host.namespace, 'link', 'set', 'lo', 'up');
      await ip('-n', host.namespace, 'link', 'set', inside, 'name', 'eth0');
      await ip('-n', host.namespace, 'addr', 'add', `${host.address}/24`, 'dev', 'eth0');
      await ip('-n', host.namespace, 'link', 'set', 'eth0', 'up');
      return host;
    },
    async removeHost(name) {
      const host = hosts.get(name);
      if (host === undefined) return;
      hosts.delete(name);
      await removeNamespace(host.namespace);
      await ip('link', 'delete', host.hostVeth).catch(() => undefined);
    },
    async partition(name) {
      await ip('link', 'set', network.host(name).hostVeth, 'nomaster');
    },
    async heal(name) {
      await ip('link', 'set', network.host(name).hostVeth, 'master', bridge);
    },
    execPrefix(name) {
      return ['ip', 'netns', 'exec', network.host(name).namespace];
    },
    async destroy() {
      for (const name of [...hosts.keys()]) await network.removeHost(name).catch(() => undefined);
      await ip('link', 'delete', bridge).catch(() => undefined);
    },
  };

  try {
    await ip('link', 'add', bridge, 'type', 'bridge');
    await ip('addr', 'add', `${rootAddress}/24`, 'dev', bridge);
    await ip('link', 'set', bridge, 'up');
    for (const name of names) await network.addHost(name);
  } catch (error) {
    await network.destroy();
    throw error;
  }
  return network;
}

/** SIGKILLs every process still in `namespace` (by pid, from `ip netns pids`), then deletes it. */
async function removeNamespace(namespace: string): Promise<void> {
  const pids = await ip('netns', 'pids', namespace).catch(() => '');
  for (const pid of pids.split(/\s+/).filter(Boolean).map(Number)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await ip('netns', 'delete', namespace).catch(() => undefined);
}

/**
 * Removes the namespaces and bridge of tag `tag`, by name: what a run killed
 * with SIGKILL left behind. Every tag when `tag` is omitted.
 */
export async function removeLeftoverNetworks(tag?: string): Promise<string[]> {
  const prefix = `${NETNS_PREFIX}${tag ?? ''}`;
  const removed: string[] = [];
  const namespaces = (await ip('netns', 'list').catch(() => ''))
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name.startsWith(prefix) && /^pl[0-9a-f]{4}-/.test(name));
  for (const namespace of namespaces) {
    await removeNamespace(namespace);
    removed.push(namespace);
  }
  const links = (await ip('-o', 'link', 'show').catch(() => ''))
    .split('\n')
    .map((line) => /^\d+:\s+([^:@]+)/.exec(line)?.[1] ?? '')
    .filter((name) => name.startsWith(prefix) && /^pl[0-9a-f]{4}(br|[a-z0-9]{1,4})$/.test(name));
  // Veths went with their namespaces' peers; the bridges remain.
  for (const link of links) {
    await ip('link', 'delete', link).catch(() => undefined);
    removed.push(link);
  }
  return removed;
}
