// One schema source: migrations/*.sql, applied by D1 as files and by node:sqlite through the committed
// migrations.gen.ts, which must be a fresh render of them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../../broker/entry/node/migrations.gen.ts';
import {
  MIGRATIONS_OUT,
  POSTGRES_MIGRATIONS_DIR,
  POSTGRES_MIGRATIONS_OUT,
  readMigrations,
  renderMigrationsModule,
} from '../../../scripts/gen-migrations.ts';

const ROOT = join(import.meta.dirname, '../../..');

describe('migrations', () => {
  it('migrations.gen.ts is a fresh render of migrations/*.sql (run npm run build when this fails)', () => {
    expect(readFileSync(join(ROOT, MIGRATIONS_OUT), 'utf8')).toBe(renderMigrationsModule(readMigrations()));
  });

  it('postgres-migrations.gen.ts is a fresh render of migrations/postgres/*.sql (run npm run build when this fails)', () => {
    expect(readFileSync(join(ROOT, POSTGRES_MIGRATIONS_OUT), 'utf8')).toBe(
      renderMigrationsModule(readMigrations(POSTGRES_MIGRATIONS_DIR), 'migrations/postgres/*.sql'),
    );
  });

  it('node:sqlite applies exactly the files D1 applies, in order', () => {
    expect(MIGRATIONS.map((m) => m.name)).toEqual(readMigrations().map((m) => m.name));
    expect(MIGRATIONS.map((m) => m.name)[0]).toBe('0001_init.sql');
  });
});

describe('a node:sqlite database made before the schema had one source', () => {
  it('upgrades in place: the replay table it already has is kept, and migration 5 is recorded', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { DatabaseSync } = await import('node:sqlite');
    const { openDatabase } = await import('../../../broker/entry/node/sqlite.ts');
    const dir = mkdtempSync(join(tmpdir(), 'broker-migrate-'));
    try {
      // The four migrations as an older broker applied them: its first one also made the replay table.
      const old = new DatabaseSync(join(dir, 'broker.db'));
      old.exec('CREATE TABLE schema_version (version INTEGER NOT NULL)');
      old.exec('CREATE TABLE replay (key TEXT PRIMARY KEY, expires_at INTEGER NOT NULL) WITHOUT ROWID');
      old.exec("INSERT INTO replay VALUES ('kept', 99)");
      for (const [i, m] of MIGRATIONS.slice(0, 4).entries()) {
        old.exec(m.sql);
        old.prepare('INSERT INTO schema_version (version) VALUES (?)').run(i + 1);
      }
      old.close();
      const db = openDatabase(dir);
      expect(db.prepare('SELECT MAX(version) AS v FROM schema_version').get()).toEqual({ v: MIGRATIONS.length });
      expect(db.prepare('SELECT key FROM replay').all()).toEqual([{ key: 'kept' }]);
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
