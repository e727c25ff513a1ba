/**
 * The pebble harness itself (test/helpers/pebble.ts): the real Debian pebble and challtestsrv
 * start on free loopback ports, serve the directory over the TLS certificate the harness made,
 * resolve names and TXT records through challtestsrv, and are gone after stop().
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { Resolver } from 'node:dns/promises';
import { Pebble, pebbleAvailable } from '../helpers/pebble.js';

describe('pebble harness', function () {
  this.timeout(30_000);
  before(function () {
    if (!pebbleAvailable()) this.skip();
  });

  it('serves a directory, answers every name with 127.0.0.1, sets and clears TXT records, and stops', async () => {
    const pebble = await Pebble.start();
    try {
      const dir = JSON.parse((await pebble.get(pebble.directory)).toString());
      expect(dir).to.include.keys('newNonce', 'newAccount', 'newOrder', 'revokeCert');
      expect((await pebble.root()).toString()).to.match(/^-----BEGIN CERTIFICATE-----/);
      const dns = new Resolver();
      dns.setServers([`127.0.0.1:${pebble.dnsPort}`]);
      expect(await dns.resolve4('anything.example.test')).to.deep.equal(['127.0.0.1']);
      await pebble.setTxt('_acme-challenge.device.example.test', 'token-value');
      expect(await dns.resolveTxt('_acme-challenge.device.example.test')).to.deep.equal([['token-value']]);
      await pebble.clearTxt('_acme-challenge.device.example.test');
      const after = await dns.resolveTxt('_acme-challenge.device.example.test').catch(() => []);
      expect(after).to.deep.equal([]);
      // The dns-01 hook script does the same through the management API.
      const hook = await pebble.dnsHook();
      const run = (args: string[]): number => spawnSync(hook.argv[0]!, args).status ?? -1;
      expect(run(['set', '_acme-challenge.hook.example.test', 'v1'])).to.equal(0);
      expect(await dns.resolveTxt('_acme-challenge.hook.example.test')).to.deep.equal([['v1']]);
      expect(run(['clear', '_acme-challenge.hook.example.test', 'v1'])).to.equal(0);
      expect(await dns.resolveTxt('_acme-challenge.hook.example.test').catch(() => [])).to.deep.equal([]);
    } finally {
      await pebble.stop();
    }
    const gone = await pebble.get(pebble.directory).then(
      () => false,
      () => true,
    );
    expect(gone).to.equal(true);
  });
});
