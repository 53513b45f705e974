// Bans shared through a real CrowdSec LAPI (Debian's crowdsec, private config/db/port):
// - latency from a log line in host A's journal to the element in host B's nft set (A publishes,
//   B follows the decision stream with pollSeconds 1), median and p99;
// - 10 000 decisions published in one burst: time until LAPI acknowledged all, LAPI calls, and
//   time until B's set holds them all.
import { performance } from 'node:perf_hooks';
import { Publisher } from '../src/crowdsec/publisher.js';
import { lapiSettings } from '../src/crowdsec/settings.js';
import { Settings } from '../src/config/settings.js';
import { createLogger } from '../src/system/log.js';
import { createNetNs, nftElements } from '../test/integration/netns.js';
import { createHost, sleep, SSH_RULE, waitFor } from './cluster/host.js';
import { createLapi } from './cluster/lapi.js';

export interface CrowdsecFigures {
  latencyMedianMs: number;
  latencyP99Ms: number;
  samples: number;
  burstDecisions: number;
  burstSeconds: number;
  burstLapiCalls: number;
  burstPosts: number;
  burstInBSeconds: number;
}

const V4 = 'ip Inet4 ssh_ban', V6 = 'ip6 Inet6 ssh_ban';
const TABLES = 'table ip Inet4 { set ssh_ban { type ipv4_addr; flags interval,timeout; }; }\ntable ip6 Inet6 { set ssh_ban { type ipv6_addr; flags interval,timeout; }; }\n';
const POLL_SECONDS = 1;

export async function crowdsecFigures(samples = 40, burst = 10_000): Promise<CrowdsecFigures> {
  const port = 30000 + (process.pid % 20000);
  const lapi = createLapi(`127.0.0.1:${port}`);
  const nsA = createNetNs('benchA'), nsB = createNetNs('benchB');
  const crowdsec = { url: lapi.url, machine: { login: 'bench-a', password: 'bench-a-pw' } };
  try {
    await lapi.start();
    lapi.addMachine('bench-a', 'bench-a-pw');
    const keyB = lapi.addBouncer('bench-b');
    nsA.run(['nft', '-f', '-'], TABLES);
    nsB.run(['nft', '-f', '-'], TABLES);
    const a = createHost('benchA', ({ storage, journal }) => ({
      storage, journal: { directory: journal },
      actions: SSH_RULE({ action: 'action_nftBan', args: { IP: 'thatIP', banSeconds: 3600, nftSetIPv4: V4, nftSetIPv6: V6, crowdsec: true } }),
      nftBan: { nft: [...nsA.prefix, 'nft'] }, crowdsec,
    }));
    const b = createHost('benchB', ({ storage, journal }) => ({
      storage, journal: { directory: journal }, actions: {},
      nftBan: { nft: [...nsB.prefix, 'nft'] },
      crowdsec: { url: lapi.url, bouncer: { apiKey: keyB, nftSetIPv4: V4, nftSetIPv6: V6, pollSeconds: POLL_SECONDS } },
    }));
    try {
      await a.start();
      await b.start();
      const latencies: number[] = [];
      for (let i = 0; i < samples; i++) {
        const ip = `198.18.${i >> 8}.${(i & 255) + 1}`;
        const started = performance.now();
        a.attack([ip]);
        await waitFor(`${ip} in B's set`, () => nftElements(nsB, V4).has(ip), 30_000);
        latencies.push(performance.now() - started);
        // lines come at any phase of B's poll
        await sleep(Math.round(Math.random() * POLL_SECONDS * 1000));
      }
      latencies.sort((x, y) => x - y);

      // the burst: one publisher (as a peruse under attack has), 10 000 bans queued at once
      const settings = lapiSettings(new Settings({ actions: {}, crowdsec }, '/bench/peruse.json'))!;
      const publisher = new Publisher(settings, { storage: a.storage, persist: false, log: createLogger({ quiet: true }), nowMicros: () => Date.now() * 1000 });
      const now = Date.now() * 1000;
      const burstStarted = performance.now();
      publisher.start();
      for (let i = 0; i < burst; i++) {
        publisher.publish({ scenario: 'peruse/bench[1]', value: `198.19.${i >> 8}.${i & 255}`, until: now + 3600e6, at: now });
      }
      await publisher.idle();
      const burstSeconds = (performance.now() - burstStarted) / 1000;
      await waitFor('the burst in B\'s set', () => nftElements(nsB, V4).size >= samples + burst, 120_000).catch((e) => { throw new Error(`${(e as Error).message}: ${nftElements(nsB, V4).size} of ${samples + burst} after ${burstSeconds} s; B said: ${b.stderr().slice(-600)}`); });
      const burstInBSeconds = (performance.now() - burstStarted) / 1000;
      const calls = publisher.client.calls, posts = publisher.posts;
      await publisher.stop();
      return {
        latencyMedianMs: Math.round(latencies[Math.floor(latencies.length / 2)]!),
        latencyP99Ms: Math.round(latencies[Math.min(latencies.length - 1, Math.ceil(latencies.length * 0.99) - 1)]!),
        samples,
        burstDecisions: burst,
        burstSeconds: Number(burstSeconds.toFixed(2)),
        burstLapiCalls: calls,
        burstPosts: posts,
        burstInBSeconds: Number(burstInBSeconds.toFixed(2)),
      };
    } finally {
      await a.remove();
      await b.remove();
    }
  } finally {
    await lapi.remove();
    nsA.remove();
    nsB.remove();
  }
}
