//! Digests and encodings as a moat tool.

wit_bindgen::generate!({ world: "hash", path: "wit" });

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};

struct Hash;

impl Guest for Hash {
    fn digest(algorithm: Algorithm, data: String) -> String {
        let bytes = data.as_bytes();
        match algorithm {
            Algorithm::Sha224 => hex::encode(Sha224::digest(bytes)),
            Algorithm::Sha256 => hex::encode(Sha256::digest(bytes)),
            Algorithm::Sha384 => hex::encode(Sha384::digest(bytes)),
            Algorithm::Sha512 => hex::encode(Sha512::digest(bytes)),
        }
    }

    fn hmac_sha256(key: String, message: String) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes keys of any length");
        mac.update(message.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    fn encode(encoding: Encoding, data: String) -> String {
        match encoding {
            Encoding::Hex => hex::encode(data),
            Encoding::Base64 => STANDARD.encode(data),
            Encoding::Base64url => URL_SAFE_NO_PAD.encode(data),
        }
    }

    fn decode(encoding: Encoding, data: String) -> Result<String, String> {
        let bytes = match encoding {
            Encoding::Hex => hex::decode(data.trim()).map_err(|e| e.to_string())?,
            Encoding::Base64 => STANDARD.decode(data.trim()).map_err(|e| e.to_string())?,
            Encoding::Base64url => URL_SAFE_NO_PAD.decode(data.trim()).map_err(|e| e.to_string())?,
        };
        String::from_utf8(bytes).map_err(|_| "the decoded bytes are not UTF-8 text".to_string())
    }
}

export!(Hash);
