// policies/schema.json is generated from the zod schema: this keeps it in sync (regenerate and compare) and
// checks that the shipped roles are what an editor validating against it would accept.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildRoleJsonSchema, renderRoleJsonSchema } from '../../../../broker/src/policy/review/json-schema.ts';
import { roleSchema } from '../../../../broker/src/policy/schema.ts';
import { EXCEPTABLE_RULE_IDS } from '../../../../broker/src/policy/exceptable-rules.ts';

const POLICIES = join(import.meta.dirname, '../../../../policies');

type Json = Record<string, any>;

describe('policies/schema.json', () => {
  it('is what scripts/gen-policy-schema.ts generates from the zod schema (run it after changing schema.ts)', () => {
    expect(readFileSync(join(POLICIES, 'schema.json'), 'utf8')).toBe(renderRoleJsonSchema());
  });

  it('has every top-level key of a role, no others, and the required ones', () => {
    const schema = buildRoleJsonSchema();
    expect(Object.keys(schema.properties as Json).sort()).toEqual(Object.keys(roleSchema.shape).sort());
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(['role', 'issuer', 'max_ttl', 'allow', 'grants']);
  });

  it('describes condition sets (not an empty schema) and the exceptable rule ids', () => {
    const schema = buildRoleJsonSchema() as Json;
    const set = schema.properties.allow.items;
    expect(set.type).toBe('object');
    expect(set.minProperties).toBe(1);
    expect(set.additionalProperties.anyOf.length).toBeGreaterThan(1);
    expect(schema.properties.lint.properties.exceptions.items.properties.rule.enum).toEqual([...EXCEPTABLE_RULE_IDS]);
    expect(schema.properties.max_ttl.pattern).toBe('^(?:\\d+[smhd])+$');
  });

  it.each(readdirSync(join(POLICIES, 'roles')).filter((f) => f.endsWith('.yaml')))('roles/%s declares it and conforms to it', (file) => {
    const text = readFileSync(join(POLICIES, 'roles', file), 'utf8');
    expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=../schema.json');
    const schema = buildRoleJsonSchema() as Json;
    const role = parse(text) as Json;
    for (const key of schema.required) expect(role).toHaveProperty(key);
    for (const key of Object.keys(role)) expect(schema.properties).toHaveProperty(key);
    for (const grant of role.grants) {
      const variant = schema.properties.grants.items.oneOf.find((v: Json) => v.properties.type.const === grant.type);
      expect(variant, grant.type).toBeDefined();
      for (const key of Object.keys(grant)) expect(variant.properties).toHaveProperty(key);
    }
    for (const set of role.allow)
      for (const claim of Object.keys(set)) expect(claim).toMatch(new RegExp(schema.properties.allow.items.propertyNames.pattern));
  });
});
