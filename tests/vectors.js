// The one Node.js helper that finds the real samples kept in tests/vectors/ (tests and
// benchmarks alike): $GTEE_SOURCE_DIR/tests/vectors/<rel>, or beside this file without it.
// A missing sample throws: the samples belong to the checkout (tests/vectors/README.md).
'use strict';
const fs = require('fs');
const path = require('path');

function vectorPath(rel = '') {
  const root = process.env.GTEE_SOURCE_DIR || path.join(__dirname, '..');
  const p = path.join(root, 'tests', 'vectors', rel);
  if (!fs.existsSync(p)) {
    throw new Error(`missing test vector ${p} (the samples of tests/vectors/README.md belong to the checkout)`);
  }
  return p;
}

module.exports = { vectorPath };
