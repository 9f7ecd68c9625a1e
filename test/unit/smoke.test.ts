import { sum } from './smoke-helper.js';
test('esm+swc works', () => { expect(sum(1, 2)).toBe(3); });
