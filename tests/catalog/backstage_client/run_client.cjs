// Calls every CatalogClient method that has a Paved endpoint, as a script or plugin would, and
// prints what each returned as JSON (one object) for the Python test to check.
// Usage: node run_client.cjs <scenario.json>   (baseUrl, tokens and refs; see the test)
'use strict';

const fs = require('node:fs');
const { CatalogClient } = require('@backstage/catalog-client');

function clientFor(baseUrl, token) {
  const discoveryApi = { getBaseUrl: async () => `${baseUrl}/api/catalog` };
  return { client: new CatalogClient({ discoveryApi }), options: { token } };
}

async function attempt(fn) {
  try {
    return { ok: true, value: await fn() };
  } catch (error) {
    return {
      ok: false,
      name: error.name,
      status: error.response?.status ?? error.statusCode ?? null,
      message: String(error.body?.error?.message ?? error.message),
    };
  }
}

async function main() {
  const s = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const { client, options } = clientFor(s.baseUrl, s.readToken);
  const admin = clientFor(s.baseUrl, s.adminToken);
  const out = {};

  out.getEntities = await client.getEntities({ filter: { kind: 'Component' } }, options);
  out.getEntitiesFields = await client.getEntities(
    { filter: { kind: 'Component' }, fields: ['metadata.name', 'kind'] }, options);
  out.getEntitiesOrder = await client.getEntities(
    { filter: { kind: 'Component' }, order: { field: 'metadata.name', order: 'desc' } }, options);
  out.getEntityByRef = await client.getEntityByRef(s.componentRef, options);
  out.getEntityByRefMissing = (await client.getEntityByRef('component:default/no-such-thing', options)) ?? null;
  out.getEntityFacets = await client.getEntityFacets({ facets: ['kind', 'spec.type'] }, options);
  out.getLocations = await client.getLocations({}, options);

  // queryEntities: a first page, then every page through nextCursor, then back with prevCursor.
  const first = await client.queryEntities(
    { filter: { kind: 'Component' }, orderFields: { field: 'metadata.name', order: 'asc' },
      limit: 2, fields: ['metadata.name'] }, options);
  const pages = [first];
  while (pages[pages.length - 1].pageInfo.nextCursor) {
    pages.push(await client.queryEntities(
      { cursor: pages[pages.length - 1].pageInfo.nextCursor, limit: 2 }, options));
  }
  out.queryPages = pages;
  const last = pages[pages.length - 1];
  out.queryPrevious = last.pageInfo.prevCursor
    ? await client.queryEntities({ cursor: last.pageInfo.prevCursor, limit: 2 }, options)
    : null;
  out.queryFullText = await client.queryEntities(
    { filter: { kind: 'Component' }, fullTextFilter: { term: 'BILL', fields: ['metadata.name'] } },
    options);
  const streamed = [];
  for await (const page of client.streamEntities({ filter: { kind: 'Component' }, pageSize: 2 }, options)) {
    streamed.push(page.map(e => e.metadata.name));
  }
  out.streamEntities = streamed;

  out.getEntitiesByRefs = await client.getEntitiesByRefs(
    { entityRefs: [s.componentRef, 'component:default/no-such-thing', s.apiRef],
      fields: ['kind', 'metadata.name'] }, options);
  out.getEntityAncestors = await client.getEntityAncestors({ entityRef: s.nestedRef }, options);
  out.validateValid = await client.validateEntity(s.validEntity, 'url:https://example.com/catalog-info.yaml', options);
  out.validateInvalid = await client.validateEntity(s.invalidEntity, 'url:https://example.com/catalog-info.yaml', options);

  // Locations: refused for a read-only token; a platform admin's token analyzes, dry-runs,
  // registers, reads back and removes one; refresh re-reads an entity's location.
  out.addLocationReadToken = await attempt(() => client.addLocation(
    { type: 'file', target: s.newLocationTarget }, options));
  out.analyzeLocation = await admin.client.analyzeLocation(
    { location: { type: 'file', target: s.newLocationTarget } }, admin.options);
  out.addLocationDryRun = await admin.client.addLocation(
    { type: 'file', target: s.newLocationTarget, dryRun: true }, admin.options);
  out.addLocation = await admin.client.addLocation(
    { type: 'file', target: s.newLocationTarget }, admin.options);
  out.addLocationAgain = await attempt(() => admin.client.addLocation(
    { type: 'file', target: s.newLocationTarget }, admin.options));
  const id = out.addLocation.location.id;
  out.getLocationById = await client.getLocationById(id, options);
  out.getLocationByRef = await client.getLocationByRef(`file:${s.newLocationTarget}`, options);
  out.getLocationByEntity = await client.getLocationByEntity(s.newEntityRef, options);
  out.newEntityBeforeRemoval = (await client.getEntityByRef(s.newEntityRef, options)) ?? null;
  out.removeLocationById = await attempt(() => admin.client.removeLocationById(id, admin.options));
  out.getLocationByIdAfterRemoval = (await client.getLocationById(id, options)) ?? null;
  out.newEntityAfterRemoval = (await client.getEntityByRef(s.newEntityRef, options)) ?? null;

  out.refreshBefore = await client.getEntityByRef(s.refreshRef, options);
  out.refreshEntity = await attempt(() => admin.client.refreshEntity(s.refreshRef, admin.options));
  out.refreshAfter = await client.getEntityByRef(s.refreshRef, options);
  out.refreshReadToken = await attempt(() => client.refreshEntity(s.refreshRef, options));

  process.stdout.write(JSON.stringify(out));
}

main().catch(error => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});
