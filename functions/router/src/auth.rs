//! Who is calling: the tenant of a request.
//!
//! - `AWS_IAM` (the Function URL's default auth type): Lambda has already verified the
//!   caller's SigV4 signature; the caller's ARN (`requestContext.authorizer.iam.userArn`) is
//!   matched against the tenants' `principals`. A request without IAM context (local
//!   development under `cargo lambda watch`) or from an unlisted principal is served as the
//!   default tenant (the shared models). The `Authorization` header carries the signature
//!   here, so API keys are not read.
//! - API key (the Function URL's `NONE` auth type): the URL lets anyone in, so an API key is
//!   mandatory. It is presented as
//!   `Authorization: Bearer <key>` (what the OpenAI SDKs send) or `x-api-key: <key>`, hashed
//!   with SHA-256 and compared in constant time against every configured hash, so the time
//!   taken does not depend on which hashes exist or where a match is. A missing key and a wrong
//!   key get the same answer.

use lambda_http::RequestExt as _;
use lambda_http::request::RequestContext;
use sha2::{Digest as _, Sha256};
use shared::tenants::TenantsConfig;
use subtle::{ConditionallySelectable as _, ConstantTimeEq as _};

use crate::error::RouterError;

/// The Function URL's `AuthType` (`AWS_IAM` or `NONE`), passed by the template.
pub const ENV_AUTH_MODE: &str = "ROUTER_AUTH_MODE";

/// How callers are authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// The Function URL verified the caller's IAM identity; it picks the tenant.
    AwsIam,
    /// Anyone can reach the URL (the Function URL's `NONE` auth type), so an API key is
    /// required and picks the tenant.
    ApiKey,
}

impl AuthMode {
    /// Reads `ROUTER_AUTH_MODE`'s value (`AWS_IAM` when unset).
    pub fn parse(value: Option<&str>) -> Result<Self, RouterError> {
        match value.map(str::trim).filter(|v| !v.is_empty()) {
            None => Ok(Self::AwsIam),
            Some(v) if v.eq_ignore_ascii_case("AWS_IAM") => Ok(Self::AwsIam),
            Some(v) if v.eq_ignore_ascii_case("NONE") => Ok(Self::ApiKey),
            Some(v) => Err(RouterError::Config(format!(
                "{ENV_AUTH_MODE} must be AWS_IAM or NONE (the Function URL's AuthType), got {v:?}"
            ))),
        }
    }
}

/// Which tenant a request belongs to: the default tenant (the shared models) or one of the
/// configured tenants, by its position in the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TenantId(usize);

impl TenantId {
    /// The default tenant: callers no tenant claims.
    pub const DEFAULT: Self = Self(0);

    /// Configured tenant number `position` (0-based, in configuration order).
    pub fn configured(position: usize) -> Self {
        Self(position + 1)
    }

    /// The position in the router's tenant list, which holds the default tenant first and then
    /// the configured ones in configuration order.
    pub fn slot(self) -> usize {
        self.0
    }
}

/// Decides the tenant of each request.
pub struct Authenticator {
    mode: AuthMode,
    /// Every configured key hash with the [`TenantId::slot`] of its tenant.
    keys: Vec<([u8; 32], u64)>,
    tenants: TenantsConfig,
}

impl Authenticator {
    /// Builds the authenticator; with [`AuthMode::ApiKey`] at least one key must be configured.
    pub fn new(mode: AuthMode, tenants: TenantsConfig) -> Result<Self, RouterError> {
        let keys: Vec<([u8; 32], u64)> = tenants
            .tenants
            .iter()
            .enumerate()
            .flat_map(|(i, t)| {
                let slot = TenantId::configured(i).slot() as u64;
                t.api_keys.iter().map(move |h| (h.0, slot))
            })
            .collect();
        if mode == AuthMode::ApiKey && keys.is_empty() {
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

    /// The configured tenants, in configuration order.
    pub fn tenants(&self) -> &TenantsConfig {
        &self.tenants
    }

    /// The tenant of `req`, or [`RouterError::Unauthorized`].
    pub fn tenant_of(&self, req: &lambda_http::Request) -> Result<TenantId, RouterError> {
        match self.mode {
            AuthMode::AwsIam => Ok(self.by_principal(req)),
            AuthMode::ApiKey => self.by_key(presented_key(req)),
        }
    }

    fn by_principal(&self, req: &lambda_http::Request) -> TenantId {
        let arn = match req.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(ctx)) => ctx
                .authorizer
                .as_ref()
                .and_then(|a| a.iam.as_ref())
                .and_then(|iam| iam.user_arn.as_deref()),
            _ => None,
        };
        let Some(arn) = arn else {
            return TenantId::DEFAULT;
        };
        match self.tenants.by_principal(arn) {
            Some(t) => self
                .tenants
                .tenants
                .iter()
                .position(|x| x.name == t.name)
                .map_or(TenantId::DEFAULT, TenantId::configured),
            None => {
                tracing::info!(principal = %arn, "caller matches no tenant; serving the shared models");
                TenantId::DEFAULT
            }
        }
    }

    fn by_key(&self, key: Option<&[u8]>) -> Result<TenantId, RouterError> {
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
            usize::try_from(index)
                .map(TenantId)
                .map_err(|_| RouterError::Unauthorized)
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

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;
    use shared::config::ProfileConfig;
    use shared::tenants::KeyHash;

    fn tenants(doc: &str) -> TenantsConfig {
        let base = ProfileConfig::parse(
            "models: [amazon.nova-pro-v1:0]\ndefaultRegion: us-east-1\n",
            |_| None,
        )
        .unwrap();
        TenantsConfig::parse(doc, &base, |_| None).unwrap()
    }

    fn key_hex(key: &str) -> String {
        KeyHash::of(key).to_hex()
    }

    fn keyed() -> Authenticator {
        let doc = format!(
            "tenants:\n  a:\n    apiKeys: [{}, {}]\n  b:\n    apiKeys: [{}]\n",
            key_hex("key-a1"),
            key_hex("key-a2"),
            key_hex("key-b")
        );
        Authenticator::new(AuthMode::ApiKey, tenants(&doc)).unwrap()
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
        assert_eq!(AuthMode::parse(Some("NONE")).unwrap(), AuthMode::ApiKey);
        assert_eq!(AuthMode::parse(Some("aws_iam")).unwrap(), AuthMode::AwsIam);
        let err = AuthMode::parse(Some("KEYS")).unwrap_err();
        assert!(err.to_string().contains("must be AWS_IAM or NONE"), "{err}");
    }

    #[test]
    fn auth_none_without_keys_is_a_startup_error() {
        let err = Authenticator::new(AuthMode::ApiKey, tenants("tenants:\n  a: {}\n"))
            .err()
            .unwrap();
        assert!(err.to_string().contains("API keys are mandatory"), "{err}");
    }

    #[test]
    fn both_keys_of_a_tenant_work_and_pick_it() {
        let auth = keyed();
        let t = |r| auth.tenant_of(&r).unwrap();
        assert_eq!(
            t(with_header("authorization", "Bearer key-a1")),
            TenantId::configured(0)
        );
        assert_eq!(
            t(with_header("authorization", "bearer key-a2")),
            TenantId::configured(0)
        );
        assert_eq!(
            t(with_header("x-api-key", "key-b")),
            TenantId::configured(1)
        );
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
            TenantId::configured(0)
        );
        assert_eq!(
            auth.tenant_of(&signed("arn:aws:iam::123456789012:user/eve"))
                .unwrap(),
            TenantId::DEFAULT
        );
        assert_eq!(
            auth.tenant_of(&with_header("accept", "*/*")).unwrap(),
            TenantId::DEFAULT,
            "no IAM context (local) is the default tenant"
        );
    }
}
