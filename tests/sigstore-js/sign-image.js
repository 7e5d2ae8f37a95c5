// Signs an OCI image manifest the way cosign 3 does by default, with
// sigstore-js (@sigstore/sign): a v0.3 sigstore bundle holding a DSSE
// envelope over an in-toto v1 statement whose subject is the manifest's
// digest, signed with a key (no transparency log: `witnesses: []`).
// usage: node sign-image.js MANIFEST_DIGEST PRIVATE_KEY_PEM REPOSITORY > bundle.json
const fs = require('fs');
const crypto = require('crypto');
const { DSSEBundleBuilder } = require('@sigstore/sign');
const { bundleToJSON } = require('@sigstore/bundle');

const [digest, keyPath, repository] = process.argv.slice(2);
const privateKey = crypto.createPrivateKey(fs.readFileSync(keyPath, 'utf8'));
const publicKey = crypto.createPublicKey(privateKey).export({ type: 'spki', format: 'pem' });
const signer = {
  sign: async (data) => ({
    signature: crypto.sign('sha256', data, privateKey),
    key: { $case: 'publicKey', publicKey, hint: '' },
  }),
};
const statement = {
  _type: 'https://in-toto.io/Statement/v1',
  subject: [{ name: repository, digest: { sha256: digest.replace(/^sha256:/, '') } }],
  predicateType: 'https://sigstore.dev/cosign/sign/v1',
  predicate: {},
};
new DSSEBundleBuilder({ signer, witnesses: [] })
  .create({ data: Buffer.from(JSON.stringify(statement)), type: 'application/vnd.in-toto+json' })
  .then((bundle) => console.log(JSON.stringify(bundleToJSON(bundle))))
  .catch((e) => { console.error(e); process.exit(1); });
