//! Who is calling: the tenant of a request.
//!
//! - `AWS_IAM` (the Function URL's default auth type): Lambda has already verified the
//!   caller's SigV4 signature; the caller's ARN (`requestContext.authorizer.iam.userArn`) is
//!   matched against the tenants' `principals`. A request without IAM context (local
//!   development under `cargo lambda watch`) or from an unlisted principal is served as the
//!   default tenant (the shared models). The `Authorization` header carries the signature
//!   here, so API keys are not read.
//! - `NONE`: the Function URL lets anyone in, so an API key is mandatory. It is presented as
//!   `Authorization: Bearer <key>` (what the OpenAI SDKs send) or `x-api-key: <key>`, hashed
//!   with SHA-256 and compared in constant time against every configured hash, so the time
//!   taken does not depend on which hashes exist or where a match is. A missing key and a wrong
//!   key get the same answer.

use lambda_http::RequestExt as _;
use lambda_http::request::RequestContext;
use sha2::{Digest as _, Sha256};
use shared::tenants::{KeyHash, TenantsConfig};
use subtle::{ConditionallySelectable as _, ConstantTimeEq as _};

use crate::error::RouterError;

/// Env var choosing the auth mode; the template passes the Function URL's `AuthType`.
pub const ENV_AUTH_MODE: &str = "ROUTER_AUTH_MODE";

/// How callers are authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// The Function URL verified the caller's IAM identity; it picks the tenant.
    AwsIam,
    /// Anyone can reach the URL; an API key picks the tenant.
    None,
}

impl AuthMode {
    /// Reads `ROUTER_AUTH_MODE`'s value (`AWS_IAM` when unset).
    pub fn parse(value: Option<&str>) -> Result<Self, RouterError> {
        match value.map(str::trim).filter(|v| !v.is_empty()) {
            None => Ok(Self::AwsIam),
            Some(v) if v.eq_ignore_ascii_case("AWS_IAM") => Ok(Self::AwsIam),
            Some(v) if v.eq_ignore_ascii_case("NONE") => Ok(Self::None),
            Some(v) => Err(RouterError::Config(format!(
                "{ENV_AUTH_MODE} must be AWS_IAM or NONE (the Function URL's AuthType), got {v:?}"
            ))),
        }
    }
}

/// Which tenant a request belongs to: an index into the router's tenant list, where 0 is the
/// default tenant (the shared map).
pub type TenantIndex = usize;

/// Decides the tenant of each request.
pub struct Authenticator {
    mode: AuthMode,
    /// Every configured key hash with its tenant index (1-based: 0 is the default tenant).
    keys: Vec<([u8; 32], u64)>,
    tenants: TenantsConfig,
}

impl Authenticator {
    /// Builds the authenticator; with [`AuthMode::None`] at least one key must be configured.
    /// Tenant `i` of `tenants` gets index `i + 1`.
    pub fn new(mode: AuthMode, tenants: TenantsConfig) -> Result<Self, RouterError> {
        let keys: Vec<([u8; 32], u64)> = tenants
            .tenants
            .iter()
            .enumerate()
            .flat_map(|(i, t)| t.api_keys.iter().map(move |h| (h.0, i as u64 + 1)))
            .collect();
        if mode == AuthMode::None && keys.is_empty() {
            return Err(RouterError::Config(format!(
                "{ENV_AUTH_MODE}=NONE leaves the Function URL open to anyone, so API keys are mandatory, but none is configured: add SHA-256 hashes under `tenants.<name>.apiKeys` in the profile config or in the secret named by ROUTER_API_KEYS_SECRET_ARN (or use AWS_IAM)"
            )));
        }
        if mode == AuthMode::AwsIam && !keys.is_empty() {
            tracing::warn!(
                keys = keys.len(),
                "API keys are configured but ROUTER_AUTH_MODE is AWS_IAM: tenants are chosen by IAM principal and keys are not read"
            );
        }
        Ok(Self {
            mode,
            keys,
            tenants,
        })
    }

    /// `AWS_IAM` with no tenants: every caller is the default tenant.
    pub fn iam_only() -> Self {
        Self {
            mode: AuthMode::AwsIam,
            keys: Vec::new(),
            tenants: TenantsConfig::default(),
        }
    }

    /// The mode in force.
    pub fn mode(&self) -> AuthMode {
        self.mode
    }

    /// The tenants, in the order of their indexes (tenant `i` has index `i + 1`).
    pub fn tenants(&self) -> &TenantsConfig {
        &self.tenants
    }

    /// The tenant of `req`, or [`RouterError::Unauthorized`].
    pub fn tenant_of(&self, req: &lambda_http::Request) -> Result<TenantIndex, RouterError> {
        match self.mode {
            AuthMode::AwsIam => Ok(self.by_principal(req)),
            AuthMode::None => self.by_key(presented_key(req)),
        }
    }

    fn by_principal(&self, req: &lambda_http::Request) -> TenantIndex {
        let arn = match req.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(ctx)) => ctx
                .authorizer
                .as_ref()
                .and_then(|a| a.iam.as_ref())
                .and_then(|iam| iam.user_arn.as_deref()),
            _ => None,
        };
        let Some(arn) = arn else {
            return 0;
        };
        match self.tenants.by_principal(arn) {
            Some(t) => self
                .tenants
                .tenants
                .iter()
                .position(|x| x.name == t.name)
                .map_or(0, |i| i + 1),
            None => {
                tracing::info!(principal = %arn, "caller matches no tenant; serving the shared models");
                0
            }
        }
    }

    fn by_key(&self, key: Option<&[u8]>) -> Result<TenantIndex, RouterError> {
        // A missing key is hashed too, so both answers take the same path and time.
        let presented: [u8; 32] = Sha256::digest(key.unwrap_or_default()).into();
        let mut found = subtle::Choice::from(0);
        let mut index = 0u64;
        for (hash, tenant) in &self.keys {
            let same = hash.ct_eq(&presented);
            index = u64::conditional_select(&index, tenant, same);
            found |= same;
        }
        if key.is_some() && bool::from(found) {
            usize::try_from(index).map_err(|_| RouterError::Unauthorized)
        } else {
            Err(RouterError::Unauthorized)
        }
    }
}

/// The key from `Authorization: Bearer <key>`, else `x-api-key`.
fn presented_key(req: &lambda_http::Request) -> Option<&[u8]> {
    let headers = req.headers();
    if let Some(v) = headers.get(http::header::AUTHORIZATION) {
        let v = v.as_bytes();
        let (scheme, rest) = v.split_at(v.len().min(7));
        if scheme.eq_ignore_ascii_case(b"bearer ") {
            let key = rest.trim_ascii();
            return (!key.is_empty()).then_some(key);
        }
    }
    headers
        .get("x-api-key")
        .map(|v| v.as_bytes().trim_ascii())
        .filter(|k| !k.is_empty())
}

/// The hex SHA-256 of a key, as stored in `apiKeys` (for tools and tests).
pub fn hash_key(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The parsed form of [`hash_key`].
pub fn key_hash(key: &str) -> KeyHash {
    KeyHash(Sha256::digest(key.as_bytes()).into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;
    use shared::config::ProfileConfig;

    fn tenants(doc: &str) -> TenantsConfig {
        let base = ProfileConfig::parse(
            "models: [amazon.nova-pro-v1:0]\ndefaultRegion: us-east-1\n",
            |_| None,
        )
        .unwrap();
        TenantsConfig::parse(doc, &base, |_| None).unwrap()
    }

    fn keyed() -> Authenticator {
        let doc = format!(
            "tenants:\n  a:\n    apiKeys: [{}, {}]\n  b:\n    apiKeys: [{}]\n",
            hash_key("key-a1"),
            hash_key("key-a2"),
            hash_key("key-b")
        );
        Authenticator::new(AuthMode::None, tenants(&doc)).unwrap()
    }

    fn with_header(name: &str, value: &str) -> lambda_http::Request {
        http::Request::builder()
            .header(name, value)
            .body(lambda_http::Body::Empty)
            .unwrap()
    }

    #[test]
    fn auth_mode_defaults_to_aws_iam_and_refuses_other_values() {
        assert_eq!(AuthMode::parse(None).unwrap(), AuthMode::AwsIam);
        assert_eq!(AuthMode::parse(Some("NONE")).unwrap(), AuthMode::None);
        assert_eq!(AuthMode::parse(Some("aws_iam")).unwrap(), AuthMode::AwsIam);
        let err = AuthMode::parse(Some("KEYS")).unwrap_err();
        assert!(err.to_string().contains("must be AWS_IAM or NONE"), "{err}");
    }

    #[test]
    fn auth_none_without_keys_is_a_startup_error() {
        let err = Authenticator::new(AuthMode::None, tenants("tenants:\n  a: {}\n"))
            .err()
            .unwrap();
        assert!(err.to_string().contains("API keys are mandatory"), "{err}");
    }

    #[test]
    fn both_keys_of_a_tenant_work_and_pick_it() {
        let auth = keyed();
        let t = |r| auth.tenant_of(&r).unwrap();
        assert_eq!(t(with_header("authorization", "Bearer key-a1")), 1);
        assert_eq!(t(with_header("authorization", "bearer key-a2")), 1);
        assert_eq!(t(with_header("x-api-key", "key-b")), 2);
    }

    #[test]
    fn a_wrong_missing_or_empty_key_is_unauthorized() {
        let auth = keyed();
        for req in [
            with_header("authorization", "Bearer key-c"),
            with_header("authorization", "Basic a2V5LWEx"),
            with_header("authorization", "Bearer "),
            with_header("x-api-key", ""),
            with_header("accept", "*/*"),
        ] {
            assert!(matches!(
                auth.tenant_of(&req),
                Err(RouterError::Unauthorized)
            ));
        }
    }

    #[test]
    fn iam_callers_are_matched_by_principal_and_others_are_the_default_tenant() {
        let doc = "tenants:\n  a:\n    principals: [\"arn:aws:sts::123456789012:assumed-role/TeamA/*\"]\n";
        let auth = Authenticator::new(AuthMode::AwsIam, tenants(doc)).unwrap();
        let signed = |arn: &str| {
            let ctx: ApiGatewayV2httpRequestContext = serde_json::from_value(serde_json::json!({
                "http": {"method": "POST", "path": "/v1/models", "protocol": "HTTP/1.1", "sourceIp": "10.0.0.1", "userAgent": "x"},
                "authorizer": {"iam": {"userArn": arn, "accountId": "123456789012", "callerId": "AROAEXAMPLE:bob"}},
                "timeEpoch": 0
            }))
            .unwrap();
            with_header("authorization", "AWS4-HMAC-SHA256 Credential=...")
                .with_request_context(RequestContext::ApiGatewayV2(ctx))
        };
        assert_eq!(
            auth.tenant_of(&signed("arn:aws:sts::123456789012:assumed-role/TeamA/bob"))
                .unwrap(),
            1
        );
        assert_eq!(
            auth.tenant_of(&signed("arn:aws:iam::123456789012:user/eve"))
                .unwrap(),
            0
        );
        assert_eq!(
            auth.tenant_of(&with_header("accept", "*/*")).unwrap(),
            0,
            "no IAM context (local) is the default tenant"
        );
    }

    #[test]
    fn the_hash_helper_matches_sha256_hex() {
        assert_eq!(
            hash_key("test"),
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
        );
        assert_eq!(key_hash("test"), KeyHash::parse(&hash_key("test")).unwrap());
    }
}
