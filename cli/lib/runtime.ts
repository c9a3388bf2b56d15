// What the running Node can do. The store commands need node:sqlite (Node 22.13+ unflagged, and 24); the
// client commands (exchange, token, policy, audit verify --file) run on Node 20, so nothing they load may
// import node:sqlite at module load.

/** The oldest Node whose node:sqlite works without a flag. */
export const SQLITE_NODE = '22.13';

let available: Promise<boolean> | undefined;

/** Whether node:sqlite loads here (Node 20 has none; 22.5 to 22.12 only behind --experimental-sqlite). */
export function nodeSqliteAvailable(): Promise<boolean> {
  available ??= import('node:sqlite').then(
    () => true,
    () => false,
  );
  return available;
}

/** The one line a store command prints on a Node without node:sqlite. */
export function needsSqliteMessage(command: string): string {
  return `secret-broker ${command}: needs Node ${SQLITE_NODE} or later (for node:sqlite); this is Node ${process.versions.node}`;
}
