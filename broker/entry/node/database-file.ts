// The data folder's database file name, apart from sqlite.ts so that callers can look for the file without
// loading node:sqlite (which Node 20 does not have).
export const DATABASE_FILE = 'broker.db';
