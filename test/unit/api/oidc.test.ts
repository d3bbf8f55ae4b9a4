// An identity provider that cannot hand out its keys (an error page, a body that is no key set, no answer)
// is a service being unavailable (503 upstream), not the caller's token being wrong (401).
import { createServer, type Server } from 'node:http';
import { SignJWT, generateKeyPair } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { OidcVerifier } from '../../../api/auth/oidc.js';

let server: Server | null = null;
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

async function provider(answer: { status: number; body: string }): Promise<string> {
  server = createServer((_req, res) => res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body));
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
  const addr = server.address() as { port: number };
  return `http://127.0.0.1:${addr.port}/jwks`;
}

async function token() {
  const { privateKey } = await generateKeyPair('RS256');
  return new SignJWT({ roles: ['viewer'] }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuer('https://idp.test').setAudience('mlp')
    .setSubject('dana').setExpirationTime('5m').sign(privateKey);
}

const settings = (jwksUrl: string) => ({ issuer: 'https://idp.test', audience: 'mlp', jwksUrl, rolesClaim: 'roles', nameClaim: 'sub', roleMap: {} });

describe('an identity provider that cannot give its keys', () => {
  it.each([
    ['an error page', { status: 503, body: '{"error":"maintenance"}' }],
    ['a body that is not JSON', { status: 200, body: '<html>sign in</html>' }],
    ['JSON that is no key set', { status: 200, body: '{"keys": "none"}' }],
  ])('answering %s makes the check unavailable, not a refusal of the token', async (_what, answer) => {
    const verifier = new OidcVerifier(settings(await provider(answer)));
    expect(await verifier.check(await token())).toEqual({ ok: false, reason: 'the identity provider\'s keys could not be read; try again later', unavailable: true });
  });

  it('not answering at all is unavailable too', async () => {
    const url = await provider({ status: 200, body: '{}' });
    await new Promise<void>((r) => server!.close(() => r()));
    server = null;
    expect(await new OidcVerifier(settings(url)).check(await token())).toMatchObject({ ok: false, unavailable: true });
  });

  it('answering with keys that do not match the token refuses the token', async () => {
    const verifier = new OidcVerifier(settings(await provider({ status: 200, body: '{"keys":[]}' })));
    expect(await verifier.check(await token())).toEqual({ ok: false, reason: 'the token is not signed by a key of the identity provider' });
  });
});
