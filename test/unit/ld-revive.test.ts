/**
 * Guard for the one SDK-internal function ldsup depends on (spec pitfalls 3 and 5). If an SDK
 * upgrade removes or changes reviveFullPayload, this file fails loudly: do not bump the pinned
 * version until relay-source/revive.ts are adapted.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as sdk from '@launchdarkly/node-server-sdk';
import { reviveAll, reviveAvailable, reviveItem } from '../../src/launchdarkly/revive.js';
import { SDK_VERSION } from '../../src/launchdarkly/version.js';

const ruleFlag = () => ({
  key: 'beta', version: 1, on: true, variations: [false, true], fallthrough: { variation: 0 }, offVariation: 0, salt: 'x',
  rules: [{ id: 'r1', variation: 1, clauses: [{ attribute: 'email', op: 'endsWith', values: ['@example.com'], negate: false }] }],
});

describe('SDK internals ldsup relies on', () => {
  it('runs against the pinned SDK version', () => {
    const pkgFile = path.join(path.dirname(require.resolve('@launchdarkly/node-server-sdk')), '..', '..', 'package.json');
    const installed = JSON.parse(fs.readFileSync(pkgFile, 'utf8')).version;
    expect(installed).toBe(SDK_VERSION);
    const ours = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8'));
    expect(ours.dependencies['@launchdarkly/node-server-sdk']).toBe(SDK_VERSION);
  });

  it('still exports reviveFullPayload', () => {
    expect(typeof (sdk as Record<string, unknown>).reviveFullPayload).toBe('function');
    expect(reviveAvailable()).toBe(true);
  });

  it('revives clause attribute references, which the evaluator needs', () => {
    const store = reviveAll({ flags: { beta: ruleFlag() }, segments: {} });
    const clause = (store.features.beta as any).rules[0].clauses[0];
    expect(clause.attributeReference).toBeDefined();
    expect(clause.attributeReference.isValid).toBe(true);
    const one = reviveItem('flags', ruleFlag()) as any;
    expect(one.rules[0].clauses[0].attributeReference.isValid).toBe(true);
  });

  it('turns big segment target lists into Sets', () => {
    const included = Array.from({ length: 150 }, (_, i) => `u${i}`);
    const seg = reviveItem('segments', { key: 'big', version: 1, included, salt: 's' }) as any;
    expect(seg.generated_includedSet).toBeInstanceOf(Set);
    expect(seg.generated_includedSet.has('u149')).toBe(true);
  });
});
