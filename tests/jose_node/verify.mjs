// Verifies EAM grant tokens with panva/jose, an implementation independent of EAM's PyJWT.
//
// stdin: one JSON job
//   {"jwks_url": "http://…/.well-known/jwks.json"  (or "jwks": {"keys": [...]}),
//    "issuer": "…", "audience": "…", "tokens": ["…", …],
//    "clock_tolerance": 30, "cooldown_ms": 30000, "current_date": <epoch seconds, optional>}
// stdout: a JSON array, one result per token, in order:
//   {"ok": true, "payload": {…}, "header": {…}}
//   {"ok": false, "code": err.code, "message": err.message, "claim": …, "reason": …}
// Every token of the job shares one key set, so a remote JWKS is fetched once per run.
import { createLocalJWKSet, createRemoteJWKSet, jwtVerify } from "jose";

const ALGORITHMS = ["ES256", "RS256", "EdDSA"];

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

function keySet(job) {
  if (job.jwks) return createLocalJWKSet(job.jwks);
  if (!job.jwks_url) throw new Error("the job needs jwks_url or jwks");
  const options = {};
  if (job.cooldown_ms !== undefined) options.cooldownDuration = job.cooldown_ms;
  if (job.cache_max_age_ms !== undefined) options.cacheMaxAge = job.cache_max_age_ms;
  return createRemoteJWKSet(new URL(job.jwks_url), options);
}

const job = await readStdin();
const keys = keySet(job);
const options = {
  issuer: job.issuer,
  audience: job.audience,
  typ: "at+jwt",
  clockTolerance: job.clock_tolerance ?? 30,
  algorithms: job.algorithms ?? ALGORITHMS,
};
if (job.current_date !== undefined) options.currentDate = new Date(job.current_date * 1000);

const results = [];
for (const token of job.tokens) {
  try {
    const { payload, protectedHeader } = await jwtVerify(token, keys, options);
    results.push({ ok: true, payload, header: protectedHeader });
  } catch (err) {
    results.push({
      ok: false,
      code: err?.code ?? null,
      name: err?.name ?? null,
      message: String(err?.message ?? err),
      claim: err?.claim ?? null,
      reason: err?.reason ?? null,
    });
  }
}
process.stdout.write(JSON.stringify(results));
