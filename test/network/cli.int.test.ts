import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { roam, tempDir } from '../cli/harness.js';

describe('roam network (without a network running)', () => {
  it('says how to install nats-server when it is not on PATH, and creates nothing', async () => {
    const { dir, cleanup } = tempDir('roam-net-cli-');
    try {
      const result = await roam(['network', 'up', '--dir', `${dir}/net`], { env: { PATH: '/nonexistent' } });
      assert.equal(result.status, 1);
      assert.match(result.stderr, /NATS_NOT_INSTALLED: nats-server was not found on PATH\. Install it \(Debian\/Ubuntu: `sudo apt-get install nats-server`/);
      const down = await roam(['network', 'down', '--dir', `${dir}/net`]);
      assert.equal(down.status, 0);
      assert.match(down.stdout, /no network is running/);
    } finally {
      cleanup();
    }
  });

  it('refuses regions that are not distinct lowercase names', async () => {
    const { dir, cleanup } = tempDir('roam-net-cli-');
    try {
      const result = await roam(['network', 'up', '--dir', `${dir}/net`, '--regions', 'eu,eu']);
      assert.equal(result.status, 1);
      assert.match(result.stderr, /BAD_NETWORK_OPTIONS: regions must be distinct lowercase names/);
    } finally {
      cleanup();
    }
  });
});
