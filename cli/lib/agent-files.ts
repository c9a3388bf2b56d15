// How `secret-broker agent` puts credentials on disk: each file is written to a temporary name in the same
// directory (a dot name, which `DIR/*` globs and the workload's own names never match), flushed, made 0400
// and renamed over the old one. rename(2) within one file system is atomic, so a reader opens either the old
// file or the new one, never a partial or missing file. Nothing here logs or returns a value.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, open, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/** Owner read only: the agent's user reads, nobody writes; a renewal replaces the file, never edits it. */
export const FILE_MODE = 0o400;

/** Why `dir` cannot take the agent's files, as a sentence that names the fix, or undefined. */
export async function outDirProblem(dir: string): Promise<string | undefined> {
  try {
    if (!(await stat(dir)).isDirectory()) return `${dir} is not a directory: point --out at a directory (an emptyDir volume's mount path)`;
    await access(dir, constants.W_OK | constants.X_OK);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unusable';
    return code === 'ENOENT'
      ? `${dir} does not exist: create it, or mount a volume there (an emptyDir with medium: Memory keeps credentials off disk)`
      : `${dir} is not writable by this user (${code}): run the agent as the directory's owner, or set the pod's fsGroup`;
  }
}

/** Writes `text` to `dir/name` atomically with FILE_MODE. */
export async function writeFileAtomic(dir: string, name: string, text: string): Promise<void> {
  const temp = join(dir, `.${name}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', FILE_MODE);
  try {
    await handle.writeFile(text, 'utf8');
    // The mode given to open() passes through the umask; chmod makes it exact.
    await handle.chmod(FILE_MODE);
    await handle.sync();
    await handle.close();
    await rename(temp, join(dir, name));
  } catch (err) {
    await handle.close().catch(() => {});
    await unlink(temp).catch(() => {});
    throw err;
  }
}

/**
 * The files the agent owns in one directory. `replace` puts a new set in place one file at a time (each
 * atomically) and only then removes the names of the old set that the new one no longer has.
 */
export class AgentFiles {
  readonly #dir: string;
  #names = new Set<string>();

  constructor(dir: string) {
    this.#dir = dir;
  }

  get names(): string[] {
    return [...this.#names];
  }

  async replace(files: ReadonlyMap<string, string>): Promise<void> {
    for (const [name, text] of files) {
      await writeFileAtomic(this.#dir, name, text);
      this.#names.add(name);
    }
    for (const name of this.#names) {
      if (files.has(name)) continue;
      await unlink(join(this.#dir, name)).catch(ignoreMissing);
      this.#names.delete(name);
    }
  }

  /** Removes every file this agent wrote (not the directory, and nothing it did not write). */
  async removeAll(): Promise<void> {
    for (const name of this.#names) await unlink(join(this.#dir, name)).catch(ignoreMissing);
    this.#names.clear();
  }
}

function ignoreMissing(err: NodeJS.ErrnoException): void {
  if (err.code !== 'ENOENT') throw err;
}
