// Compute Backstage's verdicts on catalog files, by running Backstage's own packages:
//   parseEntityYaml (@backstage/plugin-catalog-node), the catalog's default entity policies
//   (SchemaValidEntityPolicy, DefaultNamespaceEntityPolicy, NoForeignRootFieldsEntityPolicy,
//   FieldFormatEntityPolicy, as CatalogBuilder of @backstage/plugin-catalog-backend 4.0.5 sets
//   them), then the built-in kind validators (BuiltinKindsEntityProcessor's list) and the
//   scaffolder's templateEntityV1beta3Validator.
// Usage: bin/backstage-node verdicts.cjs CASES.yaml OUT.json
'use strict';
const fs = require('fs');
const path = require('path');
const yaml = require('yaml');
const model = require('@backstage/catalog-model');
const { parseEntityYaml } = require('@backstage/plugin-catalog-node');
const { templateEntityV1beta3Validator } = require('@backstage/plugin-scaffolder-common');

const [input, output] = process.argv.slice(2);
const cases = yaml.parse(fs.readFileSync(input, 'utf8')).cases;

// The `yaml` package reports a collection used as a key through process.emitWarning; collect
// those per case instead of printing them.
let warnings = [];
process.emitWarning = (warning) => warnings.push(String(warning.message ?? warning));

const policies = model.EntityPolicies.allOf([
  new model.SchemaValidEntityPolicy(),
  new model.DefaultNamespaceEntityPolicy(),
  new model.NoForeignRootFieldsEntityPolicy(),
  new model.FieldFormatEntityPolicy(model.makeValidator()),
]);
const kindValidators = [
  model.apiEntityV1alpha1Validator,
  model.componentEntityV1alpha1Validator,
  model.resourceEntityV1alpha1Validator,
  model.groupEntityV1alpha1Validator,
  model.locationEntityV1alpha1Validator,
  model.userEntityV1alpha1Validator,
  model.systemEntityV1alpha1Validator,
  model.domainEntityV1alpha1Validator,
  templateEntityV1beta3Validator,
];

// "/spec/output/remoteUrl must be string", "Unknown field status", '"links.0.title" is not
// valid' -> the dotted field path the error is about.
function errorPath(message) {
  let m = /(?:^|, )(\/[^\s]*) /.exec(message);
  if (m) return m[1].slice(1).split('/').map(p => p.replace(/~1/g, '/').replace(/~0/g, '~')).join('.');
  m = /^Unknown field (\S+)/.exec(message);
  if (m) return m[1];
  m = /^"([^"]+)" is not valid/.exec(message);
  if (m) return /^(labels|annotations|tags|links)\./.test(m[1]) ? `metadata.${m[1]}` : m[1];
  return null;
}

async function verdict(entity) {
  let checked;
  try {
    checked = await policies.enforce(entity);
  } catch (e) {
    return { valid: false, error: String(e.message), error_path: errorPath(String(e.message)) };
  }
  for (const validator of kindValidators) {
    try {
      if (await validator.check(checked)) return { valid: true };
    } catch (e) {
      return { valid: false, error: String(e.message), error_path: errorPath(String(e.message)) };
    }
  }
  return { valid: false, error: `No validator recognized ${entity.kind}`, error_path: 'kind' };
}

async function main() {
  const meta = {};
  for (const pkg of ['@backstage/catalog-model', '@backstage/plugin-catalog-node',
    '@backstage/plugin-scaffolder-common', 'yaml', 'ajv']) {
    const file = require.resolve(`${pkg}/package.json`, { paths: [require.resolve('@backstage/plugin-catalog-node')] });
    meta[pkg] = JSON.parse(fs.readFileSync(file, 'utf8')).version;
  }
  const results = [];
  for (const c of cases) {
    warnings = [];
    const location = { type: 'url', target: `https://example.com/${c.id}/catalog-info.yaml` };
    const documents = [];
    for (const r of parseEntityYaml(Buffer.from(c.text, 'utf8'), location)) {
      if (r.type === 'entity') documents.push({ entity: r.entity, ...(await verdict(r.entity)) });
      else documents.push({ parse_error: String(r.error?.message ?? r.error) });
    }
    results.push({ id: c.id, class: c.class, text: c.text, yaml_warnings: warnings, documents });
  }
  const out = {
    computed_with: meta,
    node: process.version,
    made_by: 'scripts/backstage/verdicts.cjs (bin/backstage-node verdicts.cjs)',
    cases: results,
  };
  fs.writeFileSync(output, JSON.stringify(out, null, 1) + '\n');
  console.log(`${results.length} cases -> ${path.relative(process.cwd(), output)}`);
}
main().catch(e => { console.error(e); process.exit(1); });
