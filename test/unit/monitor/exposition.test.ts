import { expect } from 'chai';
import { parseExposition } from '../../../src/monitor/exposition.js';

describe('monitor/exposition', () => {
  it('reads samples with escaped label values, skipping comments and lines it cannot read', () => {
    const text = [
      '# HELP x y',
      'a_total{name="q\\"uo\\\\te",dir="/d"} 3',
      'b 4.5 1700000000000',
      'c{broken 1',
      'd{le="+Inf"} +Inf',
      '',
    ].join('\n');
    expect(parseExposition(text)).to.deep.equal([
      { metric: 'a_total', labels: { name: 'q"uo\\te', dir: '/d' }, value: 3 },
      { metric: 'b', labels: {}, value: 4.5 },
      { metric: 'd', labels: { le: '+Inf' }, value: Infinity },
    ]);
  });
});
