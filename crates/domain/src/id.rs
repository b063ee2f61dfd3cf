//! Identifier and secret generation.

use rand::Rng;

/// Meteor's id alphabet (no `0`, `1`, `I`, `O`, `l`, `V`, `U`... look-alikes).
const METEOR_ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz";
const TOKEN_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// A new 17-character id in Meteor's alphabet, as Rocket.Chat generates.
pub fn new_id() -> String {
    random_string(METEOR_ALPHABET, 17)
}

/// A new login token: 43 random url-safe characters (256 bits of entropy).
pub fn new_token() -> String {
    random_string(TOKEN_ALPHABET, 43)
}

fn random_string(alphabet: &[u8], len: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..len).map(|_| char::from(alphabet[rng.gen_range(0..alphabet.len())])).collect()
}

/// Whether a client-supplied id is acceptable: 1..=64 characters of
/// `[A-Za-z0-9._-]`. Keeps ids printable, bounded and safe in logs.
pub fn is_valid_client_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_use_meteor_alphabet() {
        let id = new_id();
        assert_eq!(id.len(), 17);
        assert!(id.bytes().all(|b| METEOR_ALPHABET.contains(&b)));
        assert_ne!(new_id(), new_id());
    }

    #[test]
    fn tokens_are_43_url_safe_chars() {
        let t = new_token();
        assert_eq!(t.len(), 43);
        assert!(t.bytes().all(|b| TOKEN_ALPHABET.contains(&b)));
    }

    #[test]
    fn client_ids_are_checked() {
        assert!(is_valid_client_id("GENERAL"));
        assert!(is_valid_client_id("a.b-c_d9"));
        assert!(!is_valid_client_id(""));
        assert!(!is_valid_client_id("a b"));
        assert!(!is_valid_client_id(&"x".repeat(65)));
    }
}
