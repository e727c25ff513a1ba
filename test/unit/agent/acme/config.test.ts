/** The acme provisioner's configuration: its keys, defaults, and what is refused (by field path). */
import { expect } from 'chai';
import { parseConfig } from '../../../../src/agent/config.js';

const cert = (provisioner: Record<string, unknown>, identity: Record<string, unknown> = { commonName: 'a.test' }) => ({
  certificates: [
    { name: 'd', dir: 's', identity, provisioner: { type: 'acme', directory: 'https://ca.test/dir', ...provisioner } },
  ],
});

describe('acme provisioner configuration', () => {
  it('takes the keys the README shows, with their defaults', () => {
    const c = parseConfig(
      cert(
        {
          directoryCa: 'ca.pem',
          email: 'ops@example.com',
          termsAgreed: true,
          eab: { kid: 'k', hmacKeyFile: 'eab.key' },
          challenge: 'dns-01',
          dns: { hook: ['/bin/hook', '{action}', '{name}', '{value}'], wait: '2s' },
          keyType: 'P-384',
          reuseKey: true,
          profile: 'shortlived',
        },
        { commonName: 'a.test', sans: ['a.test', 'b.test'] },
      ),
      '/etc/certswap',
    ).certificates[0]!;
    expect(c.provisioner).to.deep.include({
      type: 'acme',
      directory: 'https://ca.test/dir',
      directoryCa: '/etc/certswap/ca.pem',
      email: 'ops@example.com',
      termsAgreed: true,
      eab: { kid: 'k', hmacKeyFile: '/etc/certswap/eab.key' },
      challenge: 'dns-01',
      dns: { hook: ['/bin/hook', '{action}', '{name}', '{value}'], waitMs: 2000 },
      keyType: 'P-384',
      reuseKey: true,
      profile: 'shortlived',
      http: { port: 80, address: '0.0.0.0' },
      tlsAlpn: { port: 443, address: '0.0.0.0' },
    });
    const d = parseConfig(cert({}), '/').certificates[0]!;
    expect(d.provisioner).to.deep.include({
      challenge: 'http-01',
      termsAgreed: false,
      reuseKey: false,
      keyType: 'P-256',
    });
    // Every name an ACME CA certifies is a SAN: the CN alone becomes the one SAN.
    expect(d.identity).to.deep.equal({ commonName: 'a.test', sans: ['a.test'] });
    expect(parseConfig(cert({ http: { webroot: 'www' } }), '/srv').certificates[0]!.provisioner).to.deep.include({
      http: { webroot: '/srv/www' },
    });
  });

  it('refuses what cannot work, naming the field', () => {
    const bad: Array<[unknown, RegExp]> = [
      [cert({ directory: 'http://ca.test/dir' }), /provisioner\.directory: expected an https:\/\/ URL/],
      [cert({ directory: undefined }), /provisioner\.directory: expected a non-empty string/],
      [cert({ challenge: 'http-02' }), /provisioner\.challenge: expected one of http-01, tls-alpn-01, dns-01/],
      [cert({ challenge: 'dns-01' }), /provisioner\.dns: dns-01 needs dns\.hook/],
      [cert({ http: { webroot: 'w', port: 80 } }), /provisioner\.http: expected webroot, or port and address/],
      [cert({ http: { port: 0 } }), /provisioner\.http\.port: expected a port number/],
      [cert({ eab: { kid: 'k' } }), /provisioner\.eab\.hmacKeyFile: expected a non-empty string/],
      [cert({ email: 'nobody' }), /provisioner\.email: not an email address/],
      [cert({ termsAgreed: 'yes' }), /provisioner\.termsAgreed: expected true or false/],
      [cert({ dns: { hook: ['h'], wait: '2h' } }), /provisioner\.dns\.wait: expected a duration from 0s to 1h/],
      [cert({ tlsAlpn: { port: 443, adress: 'x' } }), /provisioner\.tlsAlpn\.adress: unknown key/],
      [cert({ cfssl: {} }), /provisioner\.cfssl: unknown key/],
      [cert({}, { commonName: 'a.test', sans: ['b.test'] }), /identity\.sans: must include commonName/],
    ];
    for (const [raw, msg] of bad) {
      expect(() => parseConfig(raw, '/'), JSON.stringify(raw))
        .to.throw(msg)
        .with.property('code', 'CERTSWAP_CONFIG_INVALID');
    }
  });
});
