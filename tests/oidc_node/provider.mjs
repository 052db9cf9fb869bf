// Test-only OpenID Provider for EAM's test suite, built on panva's certified `oidc-provider`.
//
//   node provider.mjs CONFIG.json [--port N] [--host 127.0.0.1] [--watch-stdin]
//
// The port may also come from the OIDC_PORT (or PORT) environment variable; 0 (the default) lets the
// operating system pick a free port. Once listening, exactly one JSON line is printed on stdout:
//
//   {"ready": true, "issuer": "http://127.0.0.1:PORT", "port": PORT, "kids": [...]}
//
// Everything else (oidc-provider notices and warnings, errors) goes to stderr. With --watch-stdin the
// process exits when its stdin reaches end-of-file, so it cannot outlive the test process that started it.
//
// CONFIG.json (written by tests/oidc.py):
//   issuer?            override the issuer (default http://HOST:PORT)
//   clients            [client metadata, ...] (static clients)
//   jwks               {"keys": [private JWKs]}: signing keys (RS256 / ES256 / ...)
//   accounts           {"<sub>": {claims}}: findAccount() returns these claims
//   claims?            claims-per-scope mapping (default below); every key becomes a scope
//   resource_servers?  {"<resource indicator>": {scope, audience, accessTokenFormat, accessTokenTTL, jwt}}
//                      default: urn:eam:api, JWT access tokens with aud urn:eam:api
//   use_granted_resource?  true (default): a resource requested at the authorization endpoint is used at
//                      the token endpoint even when the token request omits `resource`
//   access_token_claims?   account claims copied into JWT access tokens (default: none)
//   ttl?               overrides of the TTLs below (seconds)
//   cookie_keys?       keys for signing the provider's cookies (default: random per process)
//
// Test control endpoints, served by the same HTTP server in front of the provider (loopback only):
//   GET  /__test__/health       -> {"ready": true, "issuer", "kids"}
//   POST /__test__/rotate-keys  body {"keys": [...]} private JWK set -> {"kids": [...]}
//        oidc-provider has no public API for replacing its keystore, so this builds a new Provider
//        instance with the new keys and swaps it in behind the same listening socket. Sessions, grants,
//        codes and tokens survive (all instances share one in-memory store, and the cookie keys do not
//        change); the JWKS endpoint and all newly signed tokens use the new keys.
//        Old keys are dropped unless they are included in the new set.
//   POST /__test__/accounts     body {"<sub>": {claims}} -> adds or replaces accounts at runtime
//   POST /__test__/tamper-id-tokens  body {"set"?: {"<claim>": value or null}, "sign_with"?: JWK | "none"}
//        Makes the token endpoint misbehave like the OpenID conformance suite's test OPs: every ID token it
//        returns from now on is re-issued with those claims changed (null removes one) and signed with the
//        provider's own key (the default), with the given private JWK (its alg and kid go in the header),
//        or not at all ("none"). An empty body {} restores normal behaviour.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { parseArgs } from 'node:util';

import Provider, { errors } from 'oidc-provider';
// Not part of the package's documented API (there is no "exports" map, and the version is pinned):
// one memory store shared by every Provider instance, so that state survives a key rotation.
import { createMemoryAdapter } from 'oidc-provider/lib/adapters/memory_adapter.js';

// oidc-provider prints its notices with console.info; keep stdout for the single readiness line.
console.info = (...args) => console.error(...args);

const { values: options, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    port: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    'watch-stdin': { type: 'boolean', default: false },
  },
});

if (positionals.length !== 1) {
  console.error('usage: node provider.mjs CONFIG.json [--port N] [--host 127.0.0.1] [--watch-stdin]');
  process.exit(2);
}

const settings = JSON.parse(fs.readFileSync(positionals[0], 'utf8'));
const host = options.host;
const requestedPort = Number(options.port ?? process.env.OIDC_PORT ?? process.env.PORT ?? 0);

const DEFAULT_CLAIMS = {
  openid: ['sub'],
  profile: ['name', 'given_name', 'family_name'],
  email: ['email', 'email_verified'],
  national_number: ['national_number'],
};

const DEFAULT_TTL = {
  AccessToken: 600,
  AuthorizationCode: 60,
  IdToken: 600,
  Interaction: 600,
  Session: 3600,
  Grant: 3600,
  RefreshToken: 3600,
  ClientCredentials: 600,
};

const accounts = { ...(settings.accounts ?? {}) };
const cookieKeys = settings.cookie_keys ?? [crypto.randomBytes(32).toString('base64url')];
const sharedAdapter = createMemoryAdapter(15); // 15 s: oidc-provider's default clockTolerance
const accessTokenClaims = settings.access_token_claims ?? [];
const useGrantedResource = settings.use_granted_resource ?? true;

function defaultJwtAlg(jwks) {
  const key = jwks.keys.find((k) => (k.use ?? 'sig') === 'sig');
  if (!key) return 'RS256';
  if (key.alg) return key.alg;
  if (key.kty === 'EC') return { 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512' }[key.crv];
  if (key.kty === 'OKP') return 'Ed25519';
  return 'RS256';
}

function resourceServers(jwks) {
  if (settings.resource_servers) return settings.resource_servers;
  return {
    'urn:eam:api': {
      scope: 'openid profile email national_number',
      audience: 'urn:eam:api',
      accessTokenFormat: 'jwt',
      accessTokenTTL: 600,
      jwt: { sign: { alg: defaultJwtAlg(jwks) } },
    },
  };
}

function buildConfiguration(jwks) {
  const servers = resourceServers(jwks);
  return {
    adapter: sharedAdapter,
    clients: structuredClone(settings.clients ?? []),
    jwks: structuredClone(jwks),
    cookies: { keys: cookieKeys },
    claims: settings.claims ?? DEFAULT_CLAIMS,
    conformIdTokenClaims: false, // scope claims go into the ID token, not only to userinfo
    pkce: { required: () => true }, // oidc-provider 9 only requires it for public clients by default
    ttl: { ...DEFAULT_TTL, ...(settings.ttl ?? {}) },
    async findAccount(ctx, sub) {
      const claims = accounts[sub];
      if (!claims) return undefined;
      return {
        accountId: sub,
        async claims() {
          return { ...claims, sub };
        },
      };
    },
    async extraTokenClaims(ctx, token) {
      if (!accessTokenClaims.length || !token.accountId || token.kind !== 'AccessToken') return undefined;
      const claims = accounts[token.accountId] ?? {};
      return Object.fromEntries(accessTokenClaims.filter((c) => c in claims).map((c) => [c, claims[c]]));
    },
    features: {
      devInteractions: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      userinfo: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (ctx, client, oneOf) => oneOf,
        useGrantedResource: async () => useGrantedResource,
        async getResourceServerInfo(ctx, resourceIndicator) {
          const info = servers[resourceIndicator];
          if (!info) throw new errors.InvalidTarget(`unknown resource indicator ${resourceIndicator}`);
          return structuredClone(info);
        },
      },
    },
  };
}

let issuer;
let handler; // request handler of the current Provider instance
let currentJwks = settings.jwks;

function kidsOf(jwks) {
  return jwks.keys.map((k) => k.kid).filter(Boolean);
}

function createProvider(jwks) {
  const instance = new Provider(issuer, buildConfiguration(jwks));
  instance.on('server_error', (ctx, err) => console.error('server_error', err));
  instance.on('grant.error', (ctx, err) => console.error('grant.error', err.message, err.error_description ?? ''));
  return instance.callback();
}

let tampering = null; // see POST /__test__/tamper-id-tokens

const b64u = (value) => Buffer.from(value).toString('base64url');

function signCompact(header, payload, jwk) {
  const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(payload))}`;
  if (jwk === 'none') return `${input}.`;
  const key = crypto.createPrivateKey({ key: jwk, format: 'jwk' });
  const data = Buffer.from(input);
  const { alg } = header;
  let signature;
  if (/^ES(256|384|512)$/.test(alg)) signature = crypto.sign(`sha${alg.slice(2)}`, data, { key, dsaEncoding: 'ieee-p1363' });
  else if (/^RS(256|384|512)$/.test(alg)) signature = crypto.sign(`sha${alg.slice(2)}`, data, key);
  else if (/^PS(256|384|512)$/.test(alg)) {
    signature = crypto.sign(`sha${alg.slice(2)}`, data, {
      key, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: crypto.constants.RSA_PSS_SALTLEN_DIGEST,
    });
  } else if (alg === 'EdDSA' || alg === 'Ed25519') signature = crypto.sign(null, data, key);
  else throw new Error(`cannot sign with ${alg}`);
  return `${input}.${b64u(signature)}`;
}

function tamperIdToken(idToken) {
  const [encodedHeader, encodedPayload] = idToken.split('.');
  const header = JSON.parse(Buffer.from(encodedHeader, 'base64url').toString('utf8'));
  const payload = JSON.parse(Buffer.from(encodedPayload, 'base64url').toString('utf8'));
  for (const [name, value] of Object.entries(tampering.set ?? {})) {
    if (value === null) delete payload[name];
    else payload[name] = value;
  }
  let key;
  if (tampering.sign_with === 'none') {
    key = 'none';
    header.alg = 'none';
    delete header.kid;
  } else if (tampering.sign_with) {
    key = tampering.sign_with;
    header.alg = key.alg ?? header.alg;
    if (key.kid) header.kid = key.kid;
    else delete header.kid;
  } else {
    key = currentJwks.keys.find((k) => k.kid === header.kid) ?? currentJwks.keys[0];
  }
  return signCompact(header, payload, key);
}

// Rewrites the ID token in the JSON body the provider is about to send (koa ends with one string).
function tamperWith(res) {
  const end = res.end.bind(res);
  res.end = (chunk, ...rest) => {
    if (chunk === undefined || chunk === null || typeof chunk === 'function') return end(chunk, ...rest);
    let body = chunk;
    try {
      const json = JSON.parse(Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk));
      if (json && typeof json.id_token === 'string') {
        json.id_token = tamperIdToken(json.id_token);
        body = JSON.stringify(json);
        res.setHeader('content-length', Buffer.byteLength(body));
        console.error('tampered with an ID token');
      }
    } catch (err) {
      if (!(err instanceof SyntaxError)) console.error('tampering failed', err);
    }
    return end(body, ...rest);
  };
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(res, status, body) {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
  res.end(payload);
}

async function control(req, res, path) {
  if (req.method === 'GET' && path === '/__test__/health') {
    return sendJson(res, 200, { ready: true, issuer, kids: kidsOf(currentJwks) });
  }
  if (req.method === 'POST' && path === '/__test__/rotate-keys') {
    const jwks = JSON.parse(await readBody(req));
    if (!jwks || !Array.isArray(jwks.keys) || jwks.keys.length === 0) {
      return sendJson(res, 400, { error: 'body must be a non-empty JWK set' });
    }
    handler = createProvider(jwks); // throws on unusable keys, leaving the current provider in place
    currentJwks = jwks;
    console.error(`keys rotated: ${kidsOf(jwks).join(', ')}`);
    return sendJson(res, 200, { kids: kidsOf(jwks) });
  }
  if (req.method === 'POST' && path === '/__test__/accounts') {
    const updates = JSON.parse(await readBody(req));
    Object.assign(accounts, updates);
    return sendJson(res, 200, { accounts: Object.keys(accounts) });
  }
  if (req.method === 'POST' && path === '/__test__/tamper-id-tokens') {
    const spec = JSON.parse(await readBody(req));
    tampering = spec && (spec.set || spec.sign_with) ? spec : null;
    return sendJson(res, 200, { tampering: tampering !== null });
  }
  return sendJson(res, 404, { error: 'unknown test control endpoint' });
}

const server = http.createServer((req, res) => {
  const path = new URL(req.url, 'http://placeholder').pathname;
  if (path.startsWith('/__test__/')) {
    control(req, res, path).catch((err) => {
      console.error(err);
      if (!res.headersSent) sendJson(res, 400, { error: String(err?.message ?? err) });
    });
    return;
  }
  if (tampering && req.method === 'POST' && path === '/token') tamperWith(res);
  handler(req, res);
});

server.keepAliveTimeout = 1000;

let stopping = false;
function shutdown(code = 0) {
  if (stopping) return;
  stopping = true;
  server.close(() => process.exit(code));
  server.closeAllConnections?.();
  setTimeout(() => process.exit(code), 2000).unref();
}

process.on('SIGTERM', () => shutdown(0));
process.on('SIGINT', () => shutdown(0));
if (options['watch-stdin']) {
  process.stdin.on('end', () => shutdown(0));
  process.stdin.on('error', () => shutdown(0));
  process.stdin.resume();
}

server.on('error', (err) => {
  console.error(`cannot listen on ${host}:${requestedPort}: ${err.message}`);
  process.exit(1);
});

server.listen(requestedPort, host, () => {
  const { port } = server.address();
  issuer = settings.issuer ?? `http://${host}:${port}`;
  try {
    handler = createProvider(currentJwks);
  } catch (err) {
    console.error('invalid provider configuration:', err);
    process.exit(1);
  }
  process.stdout.write(`${JSON.stringify({ ready: true, issuer, port, kids: kidsOf(currentJwks) })}\n`);
});
