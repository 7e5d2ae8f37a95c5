"""Encrypts a PKCS#8 PEM private key the way `cosign generate-key-pair`
does (go-securesystemslib's `encrypted` format: scrypt, then a NaCl
secretbox), written independently of moat with PyNaCl and hashlib, so the
tests check moat's reading of cosign's keys against a second implementation.

usage: python3 cosign_key.py KEY.pem PASSWORD > KEY.cosign.pem
"""

import base64
import hashlib
import json
import os
import sys

import nacl.secret

N, R, P = 32768, 8, 1

pem_path, password = sys.argv[1], sys.argv[2].encode()
lines = open(pem_path).read().strip().splitlines()
der = base64.b64decode("".join(line for line in lines if not line.startswith("-----")))
salt = os.urandom(32)
key = hashlib.scrypt(password, salt=salt, n=N, r=R, p=P, dklen=32, maxmem=128 * 1024 * 1024)
nonce = os.urandom(nacl.secret.SecretBox.NONCE_SIZE)
sealed = nacl.secret.SecretBox(key).encrypt(der, nonce)
document = {
    "kdf": {"name": "scrypt", "params": {"N": N, "r": R, "p": P}, "salt": base64.b64encode(salt).decode()},
    "cipher": {"name": "nacl/secretbox", "nonce": base64.b64encode(nonce).decode()},
    "ciphertext": base64.b64encode(sealed.ciphertext).decode(),
}
body = base64.b64encode(json.dumps(document).encode()).decode()
print("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----")
for start in range(0, len(body), 64):
    print(body[start : start + 64])
print("-----END ENCRYPTED SIGSTORE PRIVATE KEY-----")
