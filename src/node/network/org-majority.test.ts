import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { organizationVoices, outvotingValue, type NodeVote } from './org-majority.js';

test('an organization has one voice whatever its number of nodes; none when its nodes are split evenly', () => {
  const votes: NodeVote[] = [
    { org: 'a', value: 'x' },
    { org: 'a', value: 'x' },
    { org: 'a', value: 'y' },
    { org: 'b', value: 'x' },
    { org: 'b', value: 'y' },
    { org: 'c', value: undefined },
  ];
  assert.deepEqual([...organizationVoices(votes)], [['a', 'x']]);
});

test('outvoted only by a strict majority of the member organizations', () => {
  const voices = new Map([['a', 'ours'], ['b', 'theirs'], ['c', 'theirs']]);
  assert.deepEqual(outvotingValue(voices, 'ours', 3), { value: 'theirs', orgs: 2 });
  assert.equal(outvotingValue(voices, 'ours', 4), undefined);
  assert.equal(outvotingValue(new Map([['b', 'theirs']]), 'ours', 2), undefined);
});

test('adding nodes to one organization never gives it more than one voice', () => {
  fc.assert(
    fc.property(fc.array(fc.constantFrom('v1', 'v2', 'v3'), { minLength: 1, maxLength: 40 }), (values) => {
      const voices = organizationVoices(values.map((value) => ({ org: 'big', value })));
      assert.ok(voices.size <= 1);
      assert.equal(outvotingValue(voices, 'ours', 3), undefined);
    }),
  );
});
