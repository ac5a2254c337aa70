// A real, third-party OpenID provider (panva/oidc-provider, OpenID certified) for the
// registry's tests, so the relying-party code is exercised against someone else's
// implementation rather than our own. Test-only: in-memory storage, plain HTTP on loopback.
//
//   node server.mjs --port 8123 --clients clients.json [--issuer URL] [--audience AUD] [--resource URI]
//
// clients.json: [{"client_id": "...", "client_secret": "..."}, ...]
// Prints exactly one line `ready <issuer>` on stdout once listening; exits 0 on SIGTERM.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

import Provider, { errors } from 'oidc-provider';

// oidc-provider prints its development notices with console.info (stdout). stdout is the
// readiness channel of this process, so everything but the `ready` line goes to stderr.
console.info = console.error;
console.log = console.error;

const { values: args } = parseArgs({
  options: {
    port: { type: 'string' },
    issuer: { type: 'string' },
    audience: { type: 'string', default: 'blootstellingsregister' },
    resource: { type: 'string' },
    clients: { type: 'string' },
  },
  strict: true,
});

const port = Number.parseInt(args.port ?? '', 10);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error('server.mjs: --port N is required (1-65535)');
  process.exit(2);
}
if (!args.clients) {
  console.error('server.mjs: --clients PATH is required');
  process.exit(2);
}
const issuer = args.issuer ?? `http://127.0.0.1:${port}`;
const audience = args.audience;
// RFC 8707 (enforced by oidc-provider) wants the `resource` parameter to be an absolute URI,
// which a bare audience such as `blootstellingsregister` is not; the token's `aud` is still AUD.
const resource = args.resource ?? (URL.parse(audience) ? audience : `urn:${audience}`);

// A fresh signing key per run: tests must fetch it from jwks_uri, never hard-code it.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = {
  ...privateKey.export({ format: 'jwk' }),
  kid: randomUUID(),
  use: 'sig',
  alg: 'RS256',
};

const clients = JSON.parse(readFileSync(args.clients, 'utf8')).map(({ client_id, client_secret }) => ({
  client_id,
  client_secret,
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
  token_endpoint_auth_method: 'client_secret_basic',
}));

// Claims a test wants in its access token, sent as a JSON object in the token request.
const CLAIMS_PARAM = 'registry_claims';

function requestedClaims(ctx) {
  // oidc-provider applies `extraParams` only to the authorization-type endpoints; the token
  // endpoint drops unknown parameters from ctx.oidc.params, so read the parsed request body.
  const raw = ctx?.oidc?.body?.[CLAIMS_PARAM];
  if (raw === undefined) return undefined;
  let claims;
  try {
    claims = JSON.parse(String(raw));
  } catch {
    claims = undefined;
  }
  if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) {
    throw new errors.InvalidRequest(`${CLAIMS_PARAM} must be a JSON object`);
  }
  return claims;
}

const provider = new Provider(issuer, {
  clients,
  jwks: { keys: [signingKey] },
  // Whitelists the parameter at the authorization-type endpoints only (see requestedClaims);
  // kept so the parameter is known everywhere should an interactive flow be added.
  extraParams: [CLAIMS_PARAM],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: false },
    revocation: { enabled: false },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      getResourceServerInfo: (_ctx, resourceIndicator) => {
        // One resource server only: a token for anything else is a test bug, fail loudly.
        if (resourceIndicator !== resource) {
          throw new errors.InvalidTarget(`unknown resource; this provider only serves ${resource}`);
        }
        return { scope: 'registry', audience, accessTokenFormat: 'jwt', accessTokenTTL: 600 };
      },
      useGrantedResource: () => true,
    },
  },
  extraTokenClaims: (ctx) => requestedClaims(ctx),
  ttl: { ClientCredentials: 600 },
  // Only for silencing the "cookies.keys" development notice; no interactive flows here.
  cookies: { keys: [randomUUID()] },
});

const server = createServer(provider.callback());
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`ready ${issuer}\n`);
});

function shutdown() {
  server.close(() => process.exit(0));
  server.closeAllConnections();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
