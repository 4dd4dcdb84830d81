#!/usr/bin/env node
/*
 * The oracle of the compatibility suite: renders skeletons and expressions with real Nunjucks
 * 3.2.4, set up the way Backstage's SecureTemplater sets it up (the browser bundle evaluated in
 * an isolated context with no Node globals, autoescape off, `${{ }}` variable tags, the
 * `{{ }}` tags plus installJinjaCompat and a `jsonify` filter for cookiecutterCompat, the four
 * default filters called through a JSON round trip) and walking a skeleton folder the way
 * fetch:template does (paths rendered, a path rendered empty, starting with "/" or holding
 * "//" skipped, copyWithoutTemplating / copyWithoutRender / templateFileExtension).
 *
 *   npm install --prefix /tmp/paved-oracle --no-package-lock nunjucks@3.2.4
 *   NUNJUCKS_DIR=/tmp/paved-oracle/node_modules/nunjucks node render.js ../cases.json ../expected
 *
 * cases.json: {"templates": [{id, steps: [{skeleton, plain, values, targetPath, ...inputs}]}],
 *              "expressions": [{id, template, context, cookiecutterCompat}]}
 * Writes expected/<id>/<files> per template (its fetch:template and fetch:plain steps in
 * order, into one workspace) and expected/expressions.json.
 */
'use strict';

const fs = require('fs');
const path = require('path');
const vm = require('vm');

const nunjucksDir = process.env.NUNJUCKS_DIR || path.dirname(require.resolve('nunjucks/package.json'));
// Backstage's fetch:template lists the skeleton and its copyWithoutTemplating patterns with
// globby 11 (expandDirectories on, so `dir/` means every file under it): the real package.
const globby = require(path.join(path.dirname(nunjucksDir), 'globby'));
const version = JSON.parse(fs.readFileSync(path.join(nunjucksDir, 'package.json'), 'utf8')).version;
if (version !== '3.2.4') {
  throw new Error(`the oracle needs nunjucks 3.2.4, found ${version} in ${nunjucksDir}`);
}
const bundle = fs.readFileSync(path.join(nunjucksDir, 'browser', 'nunjucks.js'), 'utf8');

// --- Backstage's default filters (behaviour of @backstage/plugin-scaffolder-node and
// @backstage/catalog-model, written here from their documented behaviour) -----------------
const INTEGRATION_HOSTS = {
  'github.com': 'github',
  'gitlab.com': 'gitlab',
  'bitbucket.org': 'bitbucketCloud',
  'dev.azure.com': 'azure',
};

function parseRepoUrl(repoUrl) {
  let parsed;
  try {
    parsed = new URL(`https://${repoUrl}`);
  } catch (error) {
    throw new Error(`Invalid repo URL passed to publisher, got ${repoUrl}, ${error}`);
  }
  const host = parsed.host;
  const q = (name) => parsed.searchParams.get(name) || undefined;
  const owner = q('owner');
  const organization = q('organization');
  const workspace = q('workspace');
  const project = q('project');
  const type = INTEGRATION_HOSTS[host];
  if (!type) {
    throw new Error(`No matching integration configuration for host ${host}, please check your integrations config`);
  }
  const repo = q('repo');
  if (!repo) {
    throw new Error(`Invalid repo URL passed to publisher: ${repoUrl}, missing repo`);
  }
  if (type === 'github' && !owner) {
    throw new Error(`Invalid repo URL passed to publisher: ${repoUrl}, missing owner`);
  }
  return { host, owner, repo, organization, workspace, project };
}

function parseEntityRef(ref, context) {
  if (typeof ref !== 'string') {
    throw new Error(`Entity reference must be a string, got ${typeof ref}`);
  }
  const colon = ref.indexOf(':');
  const slash = ref.indexOf('/');
  let kind;
  let namespace;
  let name;
  let rest = ref;
  if (colon !== -1 && (slash === -1 || colon < slash)) {
    kind = ref.slice(0, colon);
    rest = ref.slice(colon + 1);
  }
  const s = rest.indexOf('/');
  if (s !== -1) {
    namespace = rest.slice(0, s);
    name = rest.slice(s + 1);
  } else {
    name = rest;
  }
  kind = kind || (context && context.defaultKind);
  namespace = namespace || (context && context.defaultNamespace) || 'default';
  if (!kind) {
    throw new Error(`Entity reference "${ref}" had missing or empty kind (e.g. did not start with "component:" or similar)`);
  }
  if (!name) {
    throw new Error(`Entity reference "${ref}" had missing or empty name`);
  }
  return { kind, namespace, name };
}

function pick(obj, key) {
  // lodash.get with a string path: dots and [index]
  const parts = String(key).replace(/\[(\w+)\]/g, '.$1').split('.').filter((p) => p !== '');
  let current = obj;
  for (const part of parts) {
    if (current === null || current === undefined) return undefined;
    current = current[part];
  }
  return current;
}

const FILTERS = {
  parseRepoUrl: (url) => parseRepoUrl(url),
  parseEntityRef: (ref, context) => parseEntityRef(ref, context),
  pick: (obj, key) => pick(obj, key),
  projectSlug: (url) => {
    const { owner, repo } = parseRepoUrl(url);
    return `${owner}/${repo}`;
  },
};

// --- the isolated Nunjucks, as SecureTemplater builds it ------------------------------------
function makeRenderer(options) {
  const sandbox = {
    configsJson: JSON.stringify({ trimBlocks: options.trimBlocks, lstripBlocks: options.lstripBlocks }),
    filterNamesJson: JSON.stringify(Object.keys(FILTERS)),
    callFilter: (name, args) => JSON.stringify(FILTERS[name](...args)),
  };
  vm.createContext(sandbox);
  const script = `
    var renderer = (function () {
      var module = { exports: {} };
      var exports = module.exports;
      var process = { env: {} };
      ${bundle}
      var nunjucks = module.exports;
      var configs = JSON.parse(configsJson);
      var env = nunjucks.configure(Object.assign({ autoescape: false }, configs, {
        tags: { variableStart: '\${{', variableEnd: '}}' },
      }));
      var compatEnv = nunjucks.configure(Object.assign({ autoescape: false }, configs, {
        tags: { variableStart: '{{', variableEnd: '}}' },
      }));
      compatEnv.addFilter('jsonify', compatEnv.getFilter('dump'));
      JSON.parse(filterNamesJson).forEach(function (name) {
        env.addFilter(name, function () {
          var out = callFilter(name, Array.prototype.slice.call(arguments));
          return out === undefined ? undefined : JSON.parse(out);
        });
      });
      var uninstall;
      return {
        render: function (str, values) {
          if (uninstall) { uninstall(); uninstall = undefined; }
          return env.renderString(str, JSON.parse(values));
        },
        renderCompat: function (str, values) {
          if (!uninstall) { uninstall = nunjucks.installJinjaCompat(); }
          return compatEnv.renderString(str, JSON.parse(values));
        },
      };
    })();`;
  vm.runInContext(script, sandbox, { timeout: 10000 });
  return (template, context) => {
    sandbox.templateStr = String(template);
    sandbox.templateValues = JSON.stringify(context);
    const call = options.cookiecutterCompat ? 'renderCompat' : 'render';
    return vm.runInContext(`renderer.${call}(templateStr, templateValues)`, sandbox, { timeout: 10000 });
  };
}

// --- fetch:template's walk ------------------------------------------------------------------
function listEntries(root) {
  return globby.sync('**/*', {
    cwd: root, dot: true, onlyFiles: false, markDirectories: true, followSymbolicLinks: false,
  }).sort();
}

function copyOnlyEntries(root, patterns) {
  return new Set(globby.sync(patterns, {
    cwd: root, dot: true, onlyFiles: false, markDirectories: true, followSymbolicLinks: false,
  }));
}

function isBinary(buffer) {
  const head = buffer.subarray(0, 512);
  if (head.includes(0)) return true;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(buffer);
    return false;
  } catch (error) {
    return true;
  }
}

function skipped(localPath) {
  return localPath === '' || localPath.startsWith('/') || localPath.includes('//');
}

function copyPlain(caseDir, spec, outRoot) {
  const templateDir = path.resolve(caseDir, spec.skeleton);
  const outputDir = path.join(outRoot, spec.targetPath || '.');
  for (const location of listEntries(templateDir)) {
    if (location.endsWith('/')) continue;
    const outputPath = path.join(outputDir, location);
    fs.mkdirSync(path.dirname(outputPath), { recursive: true });
    fs.copyFileSync(path.join(templateDir, location), outputPath);
  }
}

function renderSkeleton(caseDir, spec, outRoot) {
  if (spec.plain) {
    copyPlain(caseDir, spec, outRoot);
    return;
  }
  const templateDir = path.resolve(caseDir, spec.skeleton);
  const render = makeRenderer(spec);
  const context = { [spec.cookiecutterCompat ? 'cookiecutter' : 'values']: spec.values || {} };
  const copyOnly = copyOnlyEntries(templateDir, spec.copyWithoutRender || spec.copyWithoutTemplating || []);
  const renderFilename = !spec.copyWithoutRender;
  let extension = spec.templateFileExtension === true ? '.njk' : spec.templateFileExtension || false;
  if (extension && !extension.startsWith('.')) extension = `.${extension}`;
  const outputDir = path.join(outRoot, spec.targetPath || '.');
  for (const location of listEntries(templateDir)) {
    let renderContents;
    let local = location;
    if (extension) {
      renderContents = path.extname(local) === extension;
      if (renderContents) local = local.slice(0, -extension.length);
      local = render(local, context);
    } else {
      renderContents = !copyOnly.has(location);
      local = renderFilename || renderContents ? render(local, context) : local;
    }
    if (skipped(local)) continue;
    const outputPath = path.join(outputDir, local);
    if (fs.existsSync(outputPath) && !spec.replace) continue;
    if (location.endsWith('/')) {
      fs.mkdirSync(outputPath, { recursive: true });
      continue;
    }
    const data = fs.readFileSync(path.join(templateDir, location));
    fs.mkdirSync(path.dirname(outputPath), { recursive: true });
    if (isBinary(data) || !renderContents) {
      fs.writeFileSync(outputPath, data);
    } else {
      fs.writeFileSync(outputPath, render(data.toString('utf8'), context), 'utf8');
    }
  }
}

function main() {
  const [casesPath, expectedDir] = process.argv.slice(2);
  if (!casesPath || !expectedDir) {
    throw new Error('usage: node render.js CASES.json EXPECTED_DIR');
  }
  const caseDir = path.dirname(path.resolve(casesPath));
  const cases = JSON.parse(fs.readFileSync(casesPath, 'utf8'));
  fs.rmSync(expectedDir, { recursive: true, force: true });
  fs.mkdirSync(expectedDir, { recursive: true });
  for (const template of cases.templates || []) {
    const outRoot = path.join(expectedDir, template.id);
    fs.mkdirSync(outRoot, { recursive: true });
    for (const spec of template.steps) {
      renderSkeleton(caseDir, spec, outRoot);
    }
  }
  const results = {};
  for (const expr of cases.expressions || []) {
    const render = makeRenderer(expr);
    try {
      results[expr.id] = { output: render(expr.template, expr.context || {}) };
    } catch (error) {
      results[expr.id] = { error: String(error.message).split('\n')[0] };
    }
  }
  fs.writeFileSync(path.join(expectedDir, 'expressions.json'), JSON.stringify(results, null, 2) + '\n');
  console.log(`rendered ${(cases.templates || []).length} template(s), ${Object.keys(results).length} expression case(s) with nunjucks ${version}`);
}

main();
