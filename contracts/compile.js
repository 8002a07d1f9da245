// Compiles contracts/*.sol with the pinned npm solc (npm/package.json) into one JSON file of
// artefacts: per contract, its ABI, creation bytecode, method identifiers and gas estimates.
// Usage: node contracts/compile.js OUT.json   (run from anywhere; npm/node_modules needed)
'use strict';
const fs = require('fs');
const path = require('path');
const solc = require(path.join(__dirname, '..', 'npm', 'node_modules', 'solc'));

const dir = __dirname;
const sources = {};
for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.sol')).sort())
  sources[f] = { content: fs.readFileSync(path.join(dir, f), 'utf8') };
const input = {
  language: 'Solidity',
  sources,
  settings: {
    optimizer: { enabled: true, runs: 10000 },
    viaIR: true,
    evmVersion: 'cancun',
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.methodIdentifiers', 'evm.gasEstimates'] } },
  },
};
const out = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (out.errors || []).filter((e) => e.severity === 'error');
for (const e of out.errors || []) process.stderr.write(e.formattedMessage + '\n');
if (errors.length) process.exit(1);
const art = { solc: solc.version(), contracts: {} };
for (const [file, cs] of Object.entries(out.contracts))
  for (const [name, c] of Object.entries(cs))
    if (c.evm.bytecode.object.length)
      art.contracts[name] = { source: file, abi: c.abi, bytecode: '0x' + c.evm.bytecode.object,
                              methods: c.evm.methodIdentifiers };
fs.writeFileSync(process.argv[2], JSON.stringify(art, null, 1));
