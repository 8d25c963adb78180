/** Thrown when the database was migrated by newer code than this one (either dialect). */
export class SchemaTooNewError extends Error {
  constructor(
    readonly databaseVersion: number,
    readonly supportedVersion: number,
  ) {
    super(
      `database schema version ${databaseVersion} is newer than this code supports (${supportedVersion}); ` +
        'upgrade Parley instead of opening the database with an older release',
    );
    this.name = 'SchemaTooNewError';
  }
}

/** Throws unless the steps are numbered 1, 2, 3, … in array order. */
export function checkMigrationOrder(migrations: ReadonlyArray<{ version: number; name: string }>): void {
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new Error(`migration ${JSON.stringify(migration.name)} has version ${migration.version}, expected ${index + 1}`);
    }
  });
}
