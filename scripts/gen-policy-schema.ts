import { resolve } from 'node:path';
import { writeOrCheck } from './lib/generated.ts';
import { renderRoleJsonSchema } from '../broker/src/policy/review/json-schema.ts';

export const SCHEMA_PATH = resolve(import.meta.dirname, '../policies/schema.json');

if (import.meta.main) writeOrCheck(SCHEMA_PATH, renderRoleJsonSchema(), 'npm run schema');
