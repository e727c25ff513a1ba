/**
 * The csr provisioner's parts without a CA server: CSRs for every key type (checked by openssl),
 * the cfssl client's transport policy, retries and refusals, and the configuration.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import fse from 'fs-extra';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { ErrorCodes } from '../../src/index.js';
import { CfsslClient } from '../../src/agent/provisioners/cfssl-client.js';
import { parseConfig } from '../../src/agent/config.js';
import { createCsr } from '../../src/pki/csr.js';
import { generateKeyPair } from '../../src/pki/keys.js';
import { KEY_TYPES } from '../../src/pki/key-types.js';
import { checkAnswer } from '../../src/agent/provisioners/csr.js';
import { issue, makePair, testCa, type Issued } from '../helpers/certs.js';
import { expectCode } from '../helpers/expect-code.js';
import { tempDir } from '../helpers/tmp.js';
import { FakeClock } from '../helpers/fake-clock.js';

const identity = { commonName: 'device-7, "lab"', sans: ['device-7.fleet.test', '10.0.0.7'] };

describe('csr provisioner parts', function () {
  this.timeout(60_000);

  for (const keyType of KEY_TYPES) {
    it(`builds a CSR openssl verifies, with subject, SANs and EKUs (${keyType})`, async () => {
      const keys = await generateKeyPair(keyType);
      const pem = await createCsr({
        keys,
        keyType,
        identity,
        subject: { O: 'Fleet', OU: 'devices' },
        usages: ['clientAuth', 'serverAuth'],
      });
      const file = path.join(await tempDir(), 'req.csr');
      await fse.writeFile(file, pem);
      const text = execFileSync('openssl', ['req', '-in', file, '-noout', '-verify', '-text'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      expect(text).to.match(/CN\s*=\s*"?device-7\\?, \\?"lab\\?"/);
      expect(text)
        .to.match(/O\s*=\s*Fleet/)
        .and.match(/OU\s*=\s*devices/);
      expect(text).to.include('DNS:device-7.fleet.test').and.include('IP Address:10.0.0.7');
      expect(text).to.include('TLS Web Client Authentication').and.include('TLS Web Server Authentication');
      expect(pem).to.not.include('PRIVATE KEY');
    });
  }

  describe('cfssl client', () => {
    let server: http.Server;
    let answers: Array<(res: http.ServerResponse) => void>;
    let seen = 0;
    let url: string;
    beforeEach(async () => {
      answers = [];
      seen = 0;
      server = http.createServer((req, res) => {
        req.resume();
        req.on('end', () => {
          seen++;
          const a = answers.shift();
          if (a) a(res);
          else res.socket?.destroy();
        });
      });
      server.listen(0, '127.0.0.1');
      await new Promise((r) => server.once('listening', r));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterEach(async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    });
    const json = (status: number, body: unknown) => (res: http.ServerResponse) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const client = (extra = {}) =>
      new CfsslClient({ url, timeoutMs: 2000, attempts: 3, backoffMs: 1, ...extra }, new FakeClock());
    const CERT = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----';

    it('retries a 5xx and a cut connection, then returns the certificate', async () => {
      answers.push(
        json(503, { success: false, errors: [{ message: 'busy' }] }),
        (res) => res.socket?.destroy(),
        json(200, { success: true, result: { certificate: CERT } }),
      );
      expect(await client().sign('csr', ['a'])).to.equal(`${CERT}\n`);
      expect(seen).to.equal(3);
    });

    it('gives up after its attempts with CERTSWAP_CA_UNAVAILABLE', async () => {
      answers.push(json(500, {}), json(502, {}), json(500, {}));
      await expectCode(client().sign('csr', ['a']), ErrorCodes.CA_UNAVAILABLE, /HTTP 500.*3 attempts/);
    });

    it("does not retry a 4xx: CERTSWAP_CA_REFUSED with the CA's reason", async () => {
      answers.push(json(400, { success: false, errors: [{ code: 400, message: 'invalid token' }] }));
      await expectCode(
        client({ authKey: Buffer.alloc(16) }).sign('csr', ['a']),
        ErrorCodes.CA_REFUSED,
        /HTTP 400.*invalid token/,
      );
      expect(seen).to.equal(1);
    });

    it('refuses an answer without a certificate, or not JSON: CERTSWAP_CA_BAD_ANSWER', async () => {
      answers.push(json(200, { success: true, result: {} }));
      await expectCode(client().sign('csr', ['a']), ErrorCodes.CA_BAD_ANSWER, /without a certificate/);
      answers.push((res) => res.end('<html>'));
      await expectCode(client().sign('csr', ['a']), ErrorCodes.CA_BAD_ANSWER, /not JSON/);
    });

    it('times out a CA that never answers, and retries', async () => {
      answers.push(
        () => undefined,
        () => undefined,
      );
      await expectCode(
        client({ timeoutMs: 100, attempts: 2 }).sign('csr', ['a']),
        ErrorCodes.CA_UNAVAILABLE,
        /no answer within 100 ms/,
      );
    });

    it('over https, trusts the pinned bundle only', async () => {
      const serverPair = await makePair({ name: '127.0.0.1', sans: ['localhost'] });
      const tlsServer = https.createServer({ cert: serverPair.cert, key: serverPair.key }, (req, res) => {
        req.resume();
        req.on('end', () => json(200, { success: true, result: { certificate: CERT } })(res));
      });
      tlsServer.listen(0, '127.0.0.1');
      await new Promise((r) => tlsServer.once('listening', r));
      try {
        const tlsUrl = `https://localhost:${(tlsServer.address() as AddressInfo).port}`;
        expect(await client({ url: tlsUrl, tlsCa: serverPair.ca }).sign('csr', ['a'])).to.equal(`${CERT}\n`);
        const otherCa = Buffer.from((await issue({ ca: true, name: 'other CA' })).certPem);
        await expectCode(
          client({ url: tlsUrl, tlsCa: otherCa }).sign('csr', ['a']),
          ErrorCodes.CA_REFUSED,
          /failed TLS verification/,
        );
      } finally {
        tlsServer.closeAllConnections();
        await new Promise((r) => tlsServer.close(r));
      }
    });

    it('accepts plain http only on loopback, and https only with a pinned bundle', () => {
      expect(
        () =>
          new CfsslClient(
            { url: 'http://ca.fleet.test:8888', timeoutMs: 1, attempts: 1, backoffMs: 1 },
            new FakeClock(),
          ),
      ).to.throw(/only on loopback/);
      expect(
        () =>
          new CfsslClient(
            { url: 'https://ca.fleet.test:8888', timeoutMs: 1, attempts: 1, backoffMs: 1 },
            new FakeClock(),
          ),
      ).to.throw(/needs tlsCa/);
      expect(
        () => new CfsslClient({ url: 'ftp://x', timeoutMs: 1, attempts: 1, backoffMs: 1 }, new FakeClock()),
      ).to.throw(/http or https/);
    });
  });

  describe("checking the CA's answer", () => {
    async function certFor(publicKey: unknown, name: string, sans: string[], issuer?: Issued): Promise<string> {
      const x509 = await import('@peculiar/x509');
      const ca = issuer ?? (await testCa());
      const cert = await x509.X509CertificateGenerator.create({
        serialNumber: '01',
        subject: `CN=${name}`,
        issuer: ca.cert.subject,
        notBefore: new Date(Date.now() - 60_000),
        notAfter: new Date(Date.now() + 3_600_000),
        signingAlgorithm: ca.sign,
        publicKey: publicKey as never,
        signingKey: ca.keys.privateKey,
        extensions: [
          new x509.SubjectAlternativeNameExtension(
            sans.map((value) => ({
              type: value.includes('.') && /^[\d.]+$/.test(value) ? ('ip' as const) : ('dns' as const),
              value,
            })),
          ),
        ],
      });
      return cert.toString('pem');
    }
    const id = { commonName: 'device-7', sans: ['device-7.fleet.test', '10.0.0.7'] };

    it('accepts a certificate for our key and identity from the CA', async () => {
      const keys = await generateKeyPair('P-256');
      const ca = Buffer.from((await testCa()).certPem);
      await checkAnswer(await certFor(keys.publicKey, 'device-7', id.sans), keys, { identity: id }, ca);
    });

    it('refuses another key, another CN, other SANs, another issuer', async () => {
      const keys = await generateKeyPair('P-256');
      const other = await generateKeyPair('P-256');
      const ca = Buffer.from((await testCa()).certPem);
      await expectCode(
        checkAnswer(await certFor(other.publicKey, 'device-7', id.sans), keys, { identity: id }, ca),
        ErrorCodes.CA_BAD_ANSWER,
        /another key/,
      );
      await expectCode(
        checkAnswer(await certFor(keys.publicKey, 'device-8', id.sans), keys, { identity: id }, ca),
        ErrorCodes.CA_BAD_ANSWER,
        /another identity/,
      );
      await expectCode(
        checkAnswer(await certFor(keys.publicKey, 'device-7', ['device-7.fleet.test']), keys, { identity: id }, ca),
        ErrorCodes.CA_BAD_ANSWER,
        /another identity/,
      );
      const rogue = await issue({ ca: true, name: 'rogue CA' });
      await expectCode(
        checkAnswer(await certFor(keys.publicKey, 'device-7', id.sans, rogue), keys, { identity: id }, ca),
        ErrorCodes.CA_BAD_ANSWER,
        /not issued by the expected CA/,
      );
      await expectCode(
        checkAnswer('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', keys, { identity: id }, ca),
        ErrorCodes.CA_BAD_ANSWER,
        /unreadable/,
      );
    });
  });

  describe('configuration', () => {
    const cfg = (provisioner: Record<string, unknown>) =>
      parseConfig(
        {
          certificates: [
            {
              name: 'd',
              dir: 's',
              identity: { commonName: 'd' },
              provisioner: { type: 'csr', cfssl: { url: 'http://127.0.0.1:8888' }, ...provisioner },
            },
          ],
        },
        '/base',
      );

    it('reads a csr provisioner with its defaults', () => {
      const p = cfg({}).certificates[0]!.provisioner;
      expect(p).to.deep.include({ type: 'csr', keyType: 'P-256', reuseKey: false });
      expect(p.type === 'csr' && p.cfssl).to.deep.include({ timeoutMs: 30_000, attempts: 4, backoffMs: 1000 });
    });

    it('names the field that is wrong', () => {
      expect(() => cfg({ keyType: 'RSA-1024' })).to.throw(/provisioner.keyType: unsupported "RSA-1024"/);
      expect(() => cfg({ reuseKey: 'yes' })).to.throw(/provisioner.reuseKey: expected true or false/);
      expect(() => cfg({ subject: { CN: 'x' } })).to.throw(/provisioner.subject.CN/);
      expect(() => cfg({ cfssl: { url: 'http://ca.example' } })).to.throw(/provisioner.cfssl.url: .*only on loopback/);
      expect(() => cfg({ cfssl: { url: 'http://127.0.0.1:1', attempts: 0 } })).to.throw(/cfssl.attempts/);
    });
  });
});
