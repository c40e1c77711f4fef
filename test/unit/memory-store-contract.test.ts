// MemoryStore against the ObjectStore contract that S3ObjectStore passes on a real server.

import { MemoryStore } from '../support/memory-store.js';
import { storeContract } from '../support/store-contract.js';

let next = 0;

storeContract({
  name: 'MemoryStore',
  async open() {
    // One bucket shared by all tests, as on a server: each test has a prefix of its own.
    return { store: new MemoryStore({ bucketPrefix: `contract-${next++}/` }), close: () => undefined };
  },
});
