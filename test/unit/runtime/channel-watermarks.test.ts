import { describe, expect, it } from 'vitest';
import { ChannelWatermarks } from '../../../shared/runtime/channel-watermarks.js';

const mark = (ch: string, wm: number, n = 2) => ({ ch, wm, n });

describe('ChannelWatermarks: the minimum over the channels that feed a shard', () => {
  it('is -Infinity until every channel of the producer has spoken, then the minimum', () => {
    const channels = new ChannelWatermarks();
    channels.observe(mark('up/s0', 500));
    expect(channels.current()).toBe(Number.NEGATIVE_INFINITY);
    channels.observe(mark('up/s1', 200));
    expect(channels.current()).toBe(200);
  });

  it('never goes back on a channel, and survives a round trip through the store', () => {
    const channels = new ChannelWatermarks();
    channels.observe(mark('up/s0', 500));
    channels.observe(mark('up/s1', 300));
    channels.observe(mark('up/s1', 100));
    const restored = new ChannelWatermarks(channels.toRecord());
    expect(restored.current()).toBe(300);
  });

  it('takes the minimum across producers too (a join or a union of stages)', () => {
    const channels = new ChannelWatermarks();
    channels.observe(mark('a/s0', 900, 1));
    channels.observe(mark('b/s0', 400, 1));
    expect(channels.current()).toBe(400);
  });

  it('leaves an idle channel out until it sends a watermark again', () => {
    const channels = new ChannelWatermarks();
    channels.observe(mark('up/s0', 500));
    channels.observe({ ch: 'up/s1', n: 2, idle: true });
    expect(channels.current()).toBe(500);
    channels.observe(mark('up/s1', 50));
    expect(channels.current()).toBe(50);
  });
});
