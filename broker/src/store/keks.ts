// The key-encryption keys from the settings, imported in one place for every entry: BROKER_KEK seals,
// BROKER_KEK_PREVIOUS still opens (during a rotation). Messages name the setting, never its value.
import { importKek, type Kek } from './envelope.ts';

/** importKek with the setting's name in the message. */
export async function importNamedKek(value: string, what: string): Promise<Kek> {
  try {
    return await importKek(value);
  } catch (error) {
    throw new Error(`${what} is invalid: ${(error as Error).message}`, { cause: error });
  }
}

/** The entries of BROKER_KEK_PREVIOUS (settings.previousKeks), minus the current KEK if it is listed too. */
export async function importPreviousKeks(entries: readonly string[], current?: Kek): Promise<Kek[]> {
  const keks: Kek[] = [];
  for (const [i, entry] of entries.entries()) {
    const kek = await importNamedKek(entry, `BROKER_KEK_PREVIOUS entry ${i + 1}`);
    if (kek.id !== current?.id) keks.push(kek);
  }
  return keks;
}
