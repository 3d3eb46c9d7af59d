import pg from 'pg';

const pgTypes = pg.types;

/** A statement in PostgreSQL's form: `$n` placeholders, and the parameter name behind each. */
export interface PositionalStatement {
  readonly text: string;
  readonly names: readonly string[];
}

/** Named parameters as SQLite binds them: `@name` in the SQL, `{ name }` in the values. */
export type NamedParameters = object;

/**
 * Rewrites `@name` placeholders to `$1, $2, …` (one number per distinct name, reused where the name
 * repeats). The shared SQL has no string literals containing `@`, so a plain scan is enough.
 */
export function toPositional(sql: string): PositionalStatement {
  const names: string[] = [];
  const text = sql.replace(/@([a-z_][a-z0-9_]*)/gi, (_match, name: string) => {
    let index = names.indexOf(name);
    if (index < 0) index = names.push(name) - 1;
    return `$${index + 1}`;
  });
  return { text, names };
}

/** The values of `parameters` in the order of the statement's placeholders; a missing one is a bug. */
export function positionalValues(statement: PositionalStatement, parameters: NamedParameters): unknown[] {
  return statement.names.map((name) => {
    if (!Object.hasOwn(parameters, name)) throw new Error(`missing SQL parameter @${name}`);
    return (parameters as Record<string, unknown>)[name];
  });
}

/** PostgreSQL's type OID for BIGINT (int8). */
const int8Oid = 20;

/**
 * Type parsers for one pool (never pg's global ones): BIGINT columns (epoch milliseconds,
 * versions) come back as numbers, as they do from SQLite. Millisecond times fit in a double.
 */
export const postgresTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary'): (value: string) => unknown {
    if (oid === int8Oid && format !== 'binary') return (value: string) => Number(value);
    return pgTypes.getTypeParser(oid, format ?? 'text') as (value: string) => unknown;
  },
};
