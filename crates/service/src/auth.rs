//! Login, tokens and passwords.
//!
//! Passwords are stored as bcrypt of the lowercase hex SHA-256 of the
//! password: Meteor's scheme, so hashes imported from a Rocket.Chat database
//! keep working, and clients may send the SHA-256 digest instead of the
//! password. Login tokens are 43 random characters, stored only as
//! `base64(sha256(token))` (Meteor's `hashLoginToken`).

use crate::throttle::ThrottleKey;
use crate::Services;
use base64::Engine;
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use std::time::Instant;
use threadsync_domain::{id, Error, Result, Timestamp, User};

pub(crate) const DEFAULT_BCRYPT_COST: u32 = 10;

/// What `POST login` accepts.
#[derive(Clone, Debug, PartialEq)]
pub enum LoginCredentials {
    /// `{user|username|email, password}`; `user` is an email if it contains `@`.
    Password { user: LoginUser, password: LoginPassword },
    /// `{resume: <token>}`: a token from an earlier login.
    Resume { token: String },
}

#[derive(Clone, Debug, PartialEq)]
pub enum LoginUser {
    Username(String),
    Email(String),
}

/// A password as sent: plain, or `{"digest": <sha256 hex>, "algorithm": "sha-256"}`.
#[derive(Clone, Debug, PartialEq)]
pub enum LoginPassword {
    Plain(String),
    Sha256Digest(String),
}

impl LoginCredentials {
    /// Reads a `login` body. Returns `None` when the body has no usable form.
    pub fn from_json(body: &serde_json::Value) -> Option<LoginCredentials> {
        let obj = body.as_object()?;
        if let Some(token) = obj.get("resume").and_then(|v| v.as_str()) {
            return Some(LoginCredentials::Resume { token: token.to_owned() });
        }
        let user = if let Some(u) = obj.get("user").and_then(|v| v.as_str()) {
            if u.contains('@') {
                LoginUser::Email(u.to_owned())
            } else {
                LoginUser::Username(u.to_owned())
            }
        } else if let Some(u) = obj.get("username").and_then(|v| v.as_str()) {
            LoginUser::Username(u.to_owned())
        } else if let Some(e) = obj.get("email").and_then(|v| v.as_str()) {
            LoginUser::Email(e.to_owned())
        } else {
            // Meteor's DDP form: {user: {username|email}, password}.
            let u = obj.get("user")?.as_object()?;
            if let Some(name) = u.get("username").and_then(|v| v.as_str()) {
                LoginUser::Username(name.to_owned())
            } else {
                LoginUser::Email(u.get("email")?.as_str()?.to_owned())
            }
        };
        let password = match obj.get("password")? {
            serde_json::Value::String(p) => LoginPassword::Plain(p.clone()),
            serde_json::Value::Object(p) => {
                let digest = p.get("digest")?.as_str()?;
                let algorithm = p.get("algorithm").and_then(|a| a.as_str()).unwrap_or("sha-256");
                if algorithm != "sha-256" {
                    return None;
                }
                LoginPassword::Sha256Digest(digest.to_ascii_lowercase())
            }
            _ => return None,
        };
        Some(LoginCredentials::Password { user, password })
    }
}

/// A successful login: the user and the new token (the only time it is seen in clear).
#[derive(Clone, Debug)]
pub struct LoginSession {
    pub user: User,
    pub token: String,
}

fn sha256_hex(s: &str) -> String {
    let digest = Sha256::digest(s.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Meteor's `hashLoginToken`: `base64(sha256(token))`.
pub fn hash_token(token: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(token.as_bytes()))
}

/// bcrypt of the lowercase hex SHA-256 of `password`.
pub fn hash_password(password: &str, cost: u32) -> Result<String> {
    bcrypt::hash(sha256_hex(password), cost).map_err(Error::internal)
}

/// Checks a password (plain or SHA-256 digest) against a stored hash.
pub fn verify_password(password: &LoginPassword, hash: &str) -> bool {
    let digest = match password {
        LoginPassword::Plain(p) => sha256_hex(p),
        LoginPassword::Sha256Digest(d) => d.clone(),
    };
    bcrypt::verify(digest, hash).unwrap_or(false)
}

/// A fixed hash to verify against when the user does not exist, so that an
/// unknown user costs the same time as a wrong password (no user enumeration
/// by timing).
const DUMMY_HASH: &str = "$2b$10$CwTycUXWue0Thq9StjUM0uJ8.dSjJ0.IWkI7yuaGcP5kH3dH8bXuS";

impl Services {
    /// `POST login`: checks the credentials and issues a new token. The
    /// client's address is unknown: only the per-account brake applies.
    pub async fn login(&self, credentials: LoginCredentials) -> Result<LoginSession> {
        self.login_from(credentials, None).await
    }

    /// `POST login` from `client` (the peer address, when known). Repeated
    /// failures for one account or from one address are slowed down (see
    /// `throttle`): while blocked, attempts are refused with
    /// `Error::TooManyRequests` before any password is checked.
    pub async fn login_from(
        &self,
        credentials: LoginCredentials,
        client: Option<IpAddr>,
    ) -> Result<LoginSession> {
        let ip_key = client.map(ThrottleKey::Ip);
        let user = match credentials {
            LoginCredentials::Resume { token } => {
                // Only the address can be braked here: the token names no account.
                self.login_throttle.check(ip_key.as_slice(), Instant::now())?;
                // A resume token is looked up by hash alone in Meteor; we keep
                // tokens per user, so find the user through the token's hash.
                let result = self.resume(&token).await;
                if matches!(result, Err(Error::LoginFailed)) {
                    self.login_throttle.failed(ip_key.as_slice(), Instant::now());
                }
                return result;
            }
            LoginCredentials::Password { user, password } => {
                let found = match &user {
                    LoginUser::Username(name) => self.store.user_by_username(name).await?,
                    LoginUser::Email(email) => self.store.user_by_email(email).await?,
                };
                // One counter per account however it is named (username,
                // email, any case); unknown names get one of their own.
                let account = match (&found, &user) {
                    (Some(u), _) => ThrottleKey::User(u.id.clone()),
                    (None, LoginUser::Username(name) | LoginUser::Email(name)) => {
                        ThrottleKey::unknown_name(name)
                    }
                };
                let keys: Vec<ThrottleKey> = std::iter::once(account).chain(ip_key).collect();
                self.login_throttle.check(&keys, Instant::now())?;
                let hash = found
                    .as_ref()
                    .and_then(|u| u.password_hash.clone())
                    .unwrap_or_else(|| DUMMY_HASH.to_owned());
                // bcrypt is deliberately slow (tens of ms): keep it off the async workers.
                let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
                    .await
                    .map_err(Error::internal)?;
                match found {
                    Some(u) if ok && u.active && u.password_hash.is_some() => {
                        self.login_throttle.succeeded(&keys[0]);
                        u
                    }
                    _ => {
                        self.login_throttle.failed(&keys, Instant::now());
                        return Err(Error::LoginFailed);
                    }
                }
            }
        };
        self.issue_token(user).await
    }

    /// `login {resume}`: a token from an earlier login proves the user; a
    /// fresh token is issued, as Meteor does, and the old one stays valid.
    async fn resume(&self, token: &str) -> Result<LoginSession> {
        if token.is_empty() || token.len() > 256 {
            return Err(Error::LoginFailed);
        }
        match self.store.user_by_token_hash(&hash_token(token)).await? {
            Some(user) if user.active => self.issue_token(user).await,
            _ => Err(Error::LoginFailed),
        }
    }

    /// DDP `login {resume}`: the token proves the user and is answered back
    /// unchanged (Meteor's resume keeps the token; the mobile app resumes on
    /// every reconnect, which must not mint a token each time). Braked per
    /// client address like every login.
    pub async fn resume_session(&self, token: &str, client: Option<IpAddr>) -> Result<LoginSession> {
        let ip_key = client.map(ThrottleKey::Ip);
        self.login_throttle.check(ip_key.as_slice(), Instant::now())?;
        let found = if token.is_empty() || token.len() > 256 {
            None
        } else {
            self.store.user_by_token_hash(&hash_token(token)).await?
        };
        match found {
            Some(user) if user.active => Ok(LoginSession { user, token: token.to_owned() }),
            _ => {
                self.login_throttle.failed(ip_key.as_slice(), Instant::now());
                Err(Error::LoginFailed)
            }
        }
    }

    pub(crate) async fn issue_token(&self, user: User) -> Result<LoginSession> {
        let token = id::new_token();
        self.store.insert_login_token(&user.id, &hash_token(&token), Timestamp::now()).await?;
        Ok(LoginSession { user, token })
    }

    /// Checks `X-User-Id` / `X-Auth-Token`. Any mismatch is "not logged in".
    pub async fn authenticate(&self, user_id: &str, token: &str) -> Result<User> {
        if user_id.is_empty() || token.is_empty() || user_id.len() > 128 || token.len() > 256 {
            return Err(Error::NotLoggedIn);
        }
        match self.store.user_by_login_token(user_id, &hash_token(token)).await? {
            Some(user) if user.active => Ok(user),
            _ => Err(Error::NotLoggedIn),
        }
    }

    /// `POST logout`: removes the token used for this request.
    pub async fn logout(&self, user: &User, token: &str) -> Result<()> {
        self.store.delete_login_token(&user.id, &hash_token(token)).await?;
        Ok(())
    }

    pub(crate) async fn hash_new_password(&self, password: &str) -> Result<String> {
        let cost = self.options.bcrypt_cost;
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || hash_password(&password, cost)).await.map_err(Error::internal)?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn meteor_password_scheme() {
        let hash = hash_password("s3cret", 4).expect("hashes");
        assert!(verify_password(&LoginPassword::Plain("s3cret".into()), &hash));
        assert!(!verify_password(&LoginPassword::Plain("S3cret".into()), &hash));
        let digest = sha256_hex("s3cret");
        assert!(verify_password(&LoginPassword::Sha256Digest(digest), &hash));
    }

    #[test]
    fn dummy_hash_is_a_valid_bcrypt_hash() {
        assert!(bcrypt::verify("x", DUMMY_HASH).is_ok());
    }

    #[test]
    fn token_hash_is_base64_sha256() {
        // echo -n abc | sha256sum | xxd -r -p | base64
        assert_eq!(hash_token("abc"), "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=");
    }

    #[test]
    fn login_body_forms() {
        let f = |v| LoginCredentials::from_json(&v);
        assert!(matches!(
            f(json!({"user": "a", "password": "p"})),
            Some(LoginCredentials::Password { user: LoginUser::Username(_), .. })
        ));
        assert!(matches!(
            f(json!({"user": "a@b.c", "password": "p"})),
            Some(LoginCredentials::Password { user: LoginUser::Email(_), .. })
        ));
        assert!(matches!(f(json!({"email": "a@b.c", "password": {"digest": "AB", "algorithm": "sha-256"}})),
            Some(LoginCredentials::Password { password: LoginPassword::Sha256Digest(ref d), .. }) if d == "ab"));
        assert!(matches!(f(json!({"resume": "t"})), Some(LoginCredentials::Resume { .. })));
        assert_eq!(f(json!({"user": "a"})), None);
        assert_eq!(f(json!({"user": "a", "password": 5})), None);
        assert_eq!(f(json!([1])), None);
    }
}
