import { Mulberry32 } from '@engine/shared';
import { ACTION_NAMES, FLAT, featureStandardiser, Mlp, OBSERVATION_CLIP, ObservationBuilder, PpoAgent, PpoPolicy, POSITION_INPUTS } from '../src';

const names = ['a', 'b', 'c'];

function agent(seed = 1): PpoAgent {
  const policy = PpoPolicy.fromNetwork(Mlp.orthogonal([names.length + POSITION_INPUTS.length, 8, 3], new Mulberry32(seed), Math.SQRT2, 1));
  return new PpoAgent({ featureNames: names, means: [1, -2, 0], scales: [2, 0.5, 0], horizonMinutes: 4, policy });
}

describe('the agent’s observation', () => {
  it('standardises with training statistics, maps missing to 0, ignores constant features and clips', () => {
    const b = new ObservationBuilder({ featureNames: names, means: [1, -2, 0], scales: [2, 0.5, 0], horizonMinutes: 4 });
    expect(Array.from(b.observe([3, Number.NaN, 7], FLAT))).toEqual([1, 0, 0, 0, 0, 0]);
    expect(Array.from(b.observe([1e9, -1e9, 1], { long: true, barsHeld: 2, unrealisedBps: -40 }))).toEqual([OBSERVATION_CLIP, -OBSERVATION_CLIP, 0, 1, 0.5, -0.4]);
    expect(b.observe([0, 0, 0], { long: true, barsHeld: 1, unrealisedBps: 1e6 })[5]).toBe(OBSERVATION_CLIP);
    // flat: the position inputs are zero whatever is passed
    expect(Array.from(b.observe([1, -2, 0], { long: false, barsHeld: 9, unrealisedBps: 99 }))).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('takes the training rows’ mean and population sd of the non-missing values', () => {
    const col = Float64Array.from([1, 2, Number.NaN, 4, 100]);
    const { means, scales } = featureStandardiser([col], Int32Array.from([0, 1, 2, 3]));
    expect(means[0]).toBeCloseTo(7 / 3, 14);
    expect(scales[0]).toBeCloseTo(Math.sqrt(((1 - 7 / 3) ** 2 + (2 - 7 / 3) ** 2 + (4 - 7 / 3) ** 2) / 3), 14);
  });
});

describe('the agent’s JSON', () => {
  it('round-trips bit for bit and acts the same', () => {
    const a = agent();
    const b = PpoAgent.parse(a.serialize());
    expect(b.serialize()).toBe(a.serialize());
    const rng = new Mulberry32(3);
    for (let k = 0; k < 50; k++) {
      const x = names.map(() => rng.next() * 4 - 2);
      const pos = { long: k % 2 === 0, barsHeld: k % 4, unrealisedBps: rng.next() * 100 - 50 };
      expect(b.act(x, pos)).toBe(a.act(x, pos));
      expect(Array.from(b.probabilities(x, pos))).toEqual(Array.from(a.probabilities(x, pos)));
    }
    expect(a.toJson().actions).toEqual([...ACTION_NAMES]);
    expect(PpoAgent.isAgentJson(a.serialize())).toBe(true);
  });

  it('names what is wrong with a bad file', () => {
    const j = agent().toJson();
    expect(() => PpoAgent.parse('{')).toThrow(/not JSON/);
    expect(() => PpoAgent.parse(JSON.stringify({ ...j, format: 'x' }))).toThrow(/field format/);
    expect(() => PpoAgent.parse(JSON.stringify({ ...j, feature_means: [0, 0] }))).toThrow(/one mean and one scale per feature \(3\)/);
    expect(() => PpoAgent.parse(JSON.stringify({ ...j, actions: ['hold', 'sell', 'buy'] }))).toThrow(/field actions/);
    expect(() => PpoAgent.parse(JSON.stringify({ ...j, feature_names: ['a', 'b'], feature_means: [0, 0], feature_scales: [1, 1] }))).toThrow(/policy of 5 inputs; got 6/);
  });
});
