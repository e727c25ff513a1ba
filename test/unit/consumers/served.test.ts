import { expect } from 'chai';
import { defaultServername } from '../../../src/consumers/served.js';

describe('consumers/served: defaultServername', () => {
  it('sends a host name as SNI, never an IP address (IPv6 with hex digits included)', () => {
    expect(defaultServername('device-42.example')).to.equal('device-42.example');
    expect(defaultServername('localhost')).to.equal('localhost');
    for (const ip of ['127.0.0.1', '::1', 'fe80::1', '2001:db8::a', '::ffff:127.0.0.1'])
      expect(defaultServername(ip), ip).to.equal(undefined);
  });
});
