import { openPgStore } from '../src/index.js';
import { chatStoreConformance } from './chat-store-conformance.js';
import { startPrivatePostgres, type PrivatePostgres } from './helpers/private-postgres.js';

describe('PgStore', function () {
  // initdb and the first start take a few seconds on a busy machine.
  this.timeout(60_000);
  let postgres: PrivatePostgres;

  before(async () => {
    postgres = await startPrivatePostgres();
  });

  after(async () => {
    await postgres?.stop();
  });

  chatStoreConformance('PgStore', async () => {
    const schema = await postgres.freshSchema();
    const store = await openPgStore({ url: schema.url, poolSize: 4 });
    return {
      store,
      async cleanup() {
        await store.close();
        await schema.drop();
      },
    };
  });
});
