// Re-extract the JSON Schemas that @backstage/catalog-model and @backstage/plugin-scaffolder-common
// publish (bundled in their dist/ as JS modules) into catalog/schemas/backstage/ as plain JSON,
// and record the package versions in versions.json. Run with: bin/backstage-node refresh-schemas.cjs
// (`--out DIR` writes elsewhere; the tests use it to check the vendored copy is unchanged).
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..', '..');
const outFlag = process.argv.indexOf('--out');
const out = outFlag > -1 ? path.resolve(process.argv[outFlag + 1]) : path.join(root, 'catalog', 'schemas', 'backstage');
const packages = [
  ['@backstage/catalog-model', 'dist/schema'],
  ['@backstage/plugin-scaffolder-common', 'dist'],
];

function walk(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap(e =>
    e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)],
  );
}

const versions = {};
for (const [pkg, sub] of packages) {
  const base = path.dirname(require.resolve(`${pkg}/package.json`, { paths: [__dirname] }));
  const meta = JSON.parse(fs.readFileSync(path.join(base, 'package.json'), 'utf8'));
  const target = path.join(out, pkg.split('/')[1]);
  fs.rmSync(target, { recursive: true, force: true });
  const files = [];
  for (const file of walk(path.join(base, sub)).filter(f => f.endsWith('.schema.json.cjs.js')).sort()) {
    const mod = require(file);
    const schema = mod.default;
    if (!schema || typeof schema !== 'object' || !schema.$id) {
      throw new Error(`${file}: no schema with an $id in its default export`);
    }
    const rel = path.relative(path.join(base, sub), file).replace(/\.cjs\.js$/, '');
    fs.mkdirSync(path.dirname(path.join(target, rel)), { recursive: true });
    fs.writeFileSync(path.join(target, rel), JSON.stringify(schema, null, 2) + '\n');
    files.push(rel);
  }
  versions[pkg] = {
    version: meta.version,
    license: meta.license,
    repository: `${meta.repository.url} (${meta.repository.directory})`,
    files,
  };
  console.log(`${pkg} ${meta.version}: ${files.length} schemas`);
}
fs.writeFileSync(path.join(out, 'versions.json'), JSON.stringify(versions, null, 2) + '\n');
