// Load EAM's Casbin model and an exported policy CSV with node-casbin, answer enforce queries.
// Usage: node enforce.js MODEL POLICY_CSV < queries.json   (queries: [{"context": "" | "2", "args": [...]}])
const { newEnforcer, newEnforceContext } = require('casbin');

async function main() {
  const [modelPath, policyPath] = process.argv.slice(2);
  const enforcer = await newEnforcer(modelPath, policyPath);
  const input = require('fs').readFileSync(0, 'utf8');
  const results = [];
  for (const query of JSON.parse(input)) {
    if (query.context) {
      results.push(await enforcer.enforce(newEnforceContext(query.context), ...query.args));
    } else {
      results.push(await enforcer.enforce(...query.args));
    }
  }
  process.stdout.write(JSON.stringify(results));
}

main().catch((error) => { console.error(error); process.exit(1); });
