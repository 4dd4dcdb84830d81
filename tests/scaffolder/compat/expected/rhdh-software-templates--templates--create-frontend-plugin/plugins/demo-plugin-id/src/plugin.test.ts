import { plugin } from './plugin';

describe('demo-plugin-id', () => {
  it('should export plugin', () => {
    expect(plugin).toBeDefined();
  });
});
