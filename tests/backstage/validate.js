// Validates Backstage catalog entities with @backstage/catalog-model's own validators.
// Usage: node validate.js FILE...  (each FILE holds one or more YAML documents)
// Every document must pass entitySchemaValidator, the default entity policies (schema, no
// foreign root fields, field formats) and, being a Component, componentEntityV1alpha1Validator.
// Prints one line per entity; exits 1 if any fails, 2 on unreadable input.
'use strict';
const fs = require('node:fs');
const YAML = require('yaml');
const model = require('@backstage/catalog-model');

async function main(files) {
  if (files.length === 0) {
    console.error('usage: node validate.js FILE...');
    return 2;
  }
  const schemaValidator = model.entitySchemaValidator();
  const policies = model.EntityPolicies.allOf([
    new model.SchemaValidEntityPolicy(),
    new model.NoForeignRootFieldsEntityPolicy(),
    new model.FieldFormatEntityPolicy(),
  ]);
  let failed = 0;
  let checked = 0;
  for (const file of files) {
    let docs;
    try {
      docs = YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'));
    } catch (e) {
      console.error(`${file}: cannot read: ${e.message}`);
      return 2;
    }
    for (const doc of docs) {
      if (doc.errors.length > 0) {
        console.log(`FAIL ${file}: YAML: ${doc.errors.map(String).join('; ')}`);
        failed++;
        continue;
      }
      const entity = doc.toJS();
      if (entity === null) continue;
      checked++;
      const name = `${file}: ${entity?.kind}:${entity?.metadata?.name}`;
      try {
        schemaValidator(entity);
        if ((await policies.enforce(entity)) === undefined) {
          throw new Error('rejected by the entity policies');
        }
        if (entity.kind !== 'Component') {
          throw new Error(`kind is ${entity.kind}, expected Component`);
        }
        if ((await model.componentEntityV1alpha1Validator.check(entity)) !== true) {
          throw new Error('not a backstage.io/v1alpha1 Component');
        }
        console.log(`ok   ${name}`);
      } catch (e) {
        console.log(`FAIL ${name}: ${e.message}`);
        failed++;
      }
    }
  }
  if (checked === 0) {
    console.log('FAIL no entities found');
    return 1;
  }
  return failed > 0 ? 1 : 0;
}

main(process.argv.slice(2)).then((code) => process.exit(code), (e) => {
  console.error(e);
  process.exit(2);
});
