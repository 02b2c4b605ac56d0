import { describe, expect, it } from 'vitest';

import { Metrics } from '../../src/metrics/standpipe.js';
import { Registry } from '../../src/metrics/registry.js';

describe('the metrics registry', () => {
  it('renders counters and gauges with labels in the text format', async () => {
    const registry = new Registry();
    const requests = registry.counter('app_requests_total', 'Requests\nanswered', ['route']);
    const depth = registry.gauge('app_depth', 'Depth');
    requests.inc({ route: '/video/:id' });
    requests.inc({ route: '/video/:id' }, 2);
    requests.inc({ route: 'a "quoted" \\ path\n' });
    depth.set({}, 7);

    const text = await registry.render();
    expect(text).toBe([
      '# HELP app_requests_total Requests\\nanswered',
      '# TYPE app_requests_total counter',
      'app_requests_total{route="/video/:id"} 3',
      'app_requests_total{route="a \\"quoted\\" \\\\ path\\n"} 1',
      '# HELP app_depth Depth',
      '# TYPE app_depth gauge',
      'app_depth 7',
      '',
    ].join('\n'));
  });

  it('renders histograms with cumulative buckets, sum and count', async () => {
    const registry = new Registry();
    const h = registry.histogram('job_seconds', 'Job time', ['type'], [1, 0.1, 10]);
    for (const v of [0.05, 0.5, 0.7, 20]) h.observe({ type: 'x' }, v);

    const lines = (await registry.render()).split('\n');
    expect(lines).toContain('job_seconds_bucket{type="x",le="0.1"} 1');
    expect(lines).toContain('job_seconds_bucket{type="x",le="1"} 3');
    expect(lines).toContain('job_seconds_bucket{type="x",le="10"} 3');
    expect(lines).toContain('job_seconds_bucket{type="x",le="+Inf"} 4');
    expect(lines).toContain('job_seconds_sum{type="x"} 21.25');
    expect(lines).toContain('job_seconds_count{type="x"} 4');
    expect(h.get({ type: 'x' })).toEqual({ count: 4, sum: 21.25 });
  });

  it('refuses a name twice, a bad name and a counter going down', () => {
    const registry = new Registry();
    const c = registry.counter('dup_total', 'x');
    expect(() => registry.counter('dup_total', 'y')).toThrow(/twice/);
    expect(() => registry.gauge('bad-name', 'x')).toThrow(/bad metric name/);
    expect(() => c.inc({}, -1)).toThrow(/cannot go down/);
  });

  it('reads the queue at every scrape and reports every job type, empty ones as 0', async () => {
    let stats = [{ type: 'webhook.deliver', state: 'due' as const, count: 3,
      oldestDueAt: 1_000 }];
    const metrics = new Metrics({ queue: async () => stats, clock: () => 6_000 });
    let text = await metrics.render();
    expect(text).toContain('standpipe_jobs_queue_depth{type="webhook.deliver",state="due"} 3');
    expect(text).toContain('standpipe_jobs_queue_oldest_seconds{type="webhook.deliver"} 5');
    expect(text).toContain('standpipe_jobs_queue_depth{type="recording.process",state="due"} 0');

    stats = [];
    text = await metrics.render();
    expect(text).toContain('standpipe_jobs_queue_depth{type="webhook.deliver",state="due"} 0');
    expect(text).toContain('standpipe_jobs_queue_oldest_seconds{type="webhook.deliver"} 0');
    expect(text).toMatch(/^process_resident_memory_bytes \d+$/m);
  });
});
