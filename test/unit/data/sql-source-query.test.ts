// The statement a `sql` source sends: the spec's query as one subquery, capped one row past SOURCE_MAX_ROWS.
import { describe, expect, it } from 'vitest';
import { wrapSourceQuery } from '../../../data/sources.js';

describe('wrapSourceQuery', () => {
  it('wraps the query as a subquery with a LIMIT one past the cap', () => {
    expect(wrapSourceQuery('select a from t', 100)).toBe('SELECT * FROM (\nselect a from t\n) AS source LIMIT 101');
  });

  it('drops trailing semicolons and whitespace, and nothing else', () => {
    expect(wrapSourceQuery('select a from t ;; \n', 5)).toBe('SELECT * FROM (\nselect a from t\n) AS source LIMIT 6');
    expect(wrapSourceQuery('select 1 as y; drop table t', 5)).toBe('SELECT * FROM (\nselect 1 as y; drop table t\n) AS source LIMIT 6');
  });

  it('closes the parenthesis on its own line, out of reach of a trailing line comment', () => {
    expect(wrapSourceQuery('select a from t -- note', 5)).toBe('SELECT * FROM (\nselect a from t -- note\n) AS source LIMIT 6');
  });
});
