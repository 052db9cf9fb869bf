// Benchmark only: panva's oidc-provider as an OAuth 2.0 client-credentials issuer of RFC 9068 JWT
// access tokens, the reference that bench/grant_tokens.py measures EAM's issuance against.
//
//   node issuer.mjs --alg ES256 [--port 0] [--host 127.0.0.1] [--watch-stdin]
//
// One fresh signing key of the algorithm asked for; one static client. Once listening it prints
// exactly one JSON line on stdout:
//
//   {"ready": true, "issuer", "port", "token_endpoint", "client_id", "client_secret", "resource", "alg"}
//
// A token request is then
//   POST /token  (HTTP Basic client_id:client_secret)  grant_type=client_credentials&scope=api:read
// and answers a JWT access token (typ at+jwt) for the resource server `urn:bench:api`, signed with --alg.

import * as crypto from 'node:crypto';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

console.info = (...args) => console.error(...args); // keep stdout for the readiness line

const { values: options } = parseArgs({
  options: {
    alg: { type: 'string', default: 'ES256' },
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    'watch-stdin': { type: 'boolean', default: false },
  },
});

const KEY_PARAMETERS = {
  ES256: ['ec', { namedCurve: 'P-256' }],
  RS256: ['rsa', { modulusLength: 3072 }],
  EdDSA: ['ed25519', {}],
};
if (!KEY_PARAMETERS[options.alg]) {
  console.error(`unsupported --alg ${options.alg}; one of ${Object.keys(KEY_PARAMETERS).join(', ')}`);
  process.exit(2);
}
const [type, parameters] = KEY_PARAMETERS[options.alg];
const { privateKey } = crypto.generateKeyPairSync(type, parameters);
const jwk = { ...privateKey.export({ format: 'jwk' }), alg: options.alg, use: 'sig', kid: crypto.randomUUID() };

const RESOURCE = 'urn:bench:api';
const client = {
  client_id: 'bench',
  client_secret: crypto.randomBytes(24).toString('base64url'),
  grant_types: ['client_credentials'],
  redirect_uris: [],
  response_types: [],
  token_endpoint_auth_method: 'client_secret_basic',
  id_token_signed_response_alg: options.alg, // never used, but must name an algorithm the keys allow
};

const server = (await import('node:http')).createServer();
server.keepAliveTimeout = 5000;

server.listen(Number(options.port), options.host, () => {
  const { port } = server.address();
  const issuer = `http://${options.host}:${port}`;
  const provider = new Provider(issuer, {
    clients: [client],
    jwks: { keys: [jwk] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: false },
      revocation: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => RESOURCE,
        useGrantedResource: async () => true,
        async getResourceServerInfo(ctx, resourceIndicator) {
          return {
            scope: 'api:read',
            audience: RESOURCE,
            accessTokenFormat: 'jwt',
            accessTokenTTL: 300,
            jwt: { sign: { alg: options.alg } },
          };
        },
      },
    },
    ttl: { ClientCredentials: 300 },
  });
  provider.on('server_error', (ctx, err) => console.error('server_error', err));
  server.on('request', provider.callback());
  process.stdout.write(
    `${JSON.stringify({
      ready: true, issuer, port, token_endpoint: `${issuer}/token`, client_id: client.client_id,
      client_secret: client.client_secret, resource: RESOURCE, alg: options.alg,
    })}\n`,
  );
});

function shutdown() {
  server.close(() => process.exit(0));
  server.closeAllConnections?.();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
if (options['watch-stdin']) {
  process.stdin.on('end', shutdown);
  process.stdin.resume();
}
