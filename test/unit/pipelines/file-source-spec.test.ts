// What the spec alone can tell about a `file` source: http(s) only, no credentials in a URL, and headers
// only as references (to SOURCE_SECRET_* variables or absolute files), only with a URL.
import { describe, expect, it } from 'vitest';
import { PipelineSpecSchema } from '../../../pipelines/spec.js';

const issues = (source: Record<string, unknown>) => {
  const r = PipelineSpecSchema.safeParse({ name: 'p', source: { kind: 'file', ...source }, target: 'y' });
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('file sources in a spec', () => {
  it('accepts local paths, http(s) URLs (any case) and header references', () => {
    expect(issues({ path: 'penguins.csv' })).toEqual([]);
    expect(issues({ path: '/srv/data/x.parquet' })).toEqual([]);
    expect(issues({ path: 'HTTPS://data.example.com/x.csv?token=in-the-query', headers: { Authorization: { env: 'SOURCE_SECRET_DATA' }, 'X-Key': { file: '/run/secrets/key' } } })).toEqual([]);
  });

  it.each([
    ['credentials in the URL', { path: 'https://user:pw@example.com/x.csv' }, /^source\.path: a URL source may not carry credentials \(user:password@\)/],
    ['a token as the URL\'s user', { path: 'http://tok@example.com/x.csv' }, /^source\.path: a URL source may not carry credentials/],
    ['another scheme', { path: 'ftp://example.com/x.csv' }, /^source\.path: a URL source must be http:\/\/ or https:\/\/$/],
    ['a file URL', { path: 'file:///etc/passwd' }, /^source\.path: a URL source must be http:\/\/ or https:\/\/$/],
    ['a header value in the spec', { path: 'https://e.com/x.csv', headers: { Authorization: 'Bearer x' } }, /^source\.headers\.Authorization: a header value is a reference/],
    ['a reference to another variable', { path: 'https://e.com/x.csv', headers: { A: { env: 'DATABASE_URL' } } }, /^source\.headers\.A\.env: a header may reference only an environment variable named SOURCE_SECRET_<NAME>$/],
    ['both kinds of reference at once', { path: 'https://e.com/x.csv', headers: { A: { env: 'SOURCE_SECRET_A', file: '/a' } } }, /^source\.headers\.A: a header value is a reference/],
    ['a relative file reference', { path: 'https://e.com/x.csv', headers: { A: { file: 'token' } } }, /^source\.headers\.A\.file: an absolute path on the worker$/],
    ['a header the worker sets itself', { path: 'https://e.com/x.csv', headers: { Host: { env: 'SOURCE_SECRET_A' } } }, /^source\.headers\.Host: a header the worker sets itself$/],
    ['headers with a local path', { path: 'x.csv', headers: { A: { env: 'SOURCE_SECRET_A' } } }, /^source\.headers: headers are sent only with an http\(s\) URL source$/],
  ])('refuses %s', (_what, source, message) => {
    const found = issues(source);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(message);
    expect(found[0]).not.toMatch(/pw|Bearer x/);
  });
});
