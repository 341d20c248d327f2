// Every test runs with the network closed: any request that is not to localhost is aborted and
// fails the test.
import { test as base, expect } from '@playwright/test';

export const test = base.extend<{ noNetwork: void }>({
  noNetwork: [
    async ({ context }, use) => {
      const blocked: string[] = [];
      await context.route('**/*', (route) => {
        const url = new URL(route.request().url());
        if (url.protocol === 'data:' || url.protocol === 'blob:' || ['localhost', '127.0.0.1'].includes(url.hostname)) {
          return route.continue();
        }
        blocked.push(route.request().url());
        return route.abort('blockedbyclient');
      });
      await use();
      expect(blocked, 'requests outside localhost').toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };
