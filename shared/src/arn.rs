//! Typed Bedrock model references: foundation-model IDs and ARNs, system-defined
//! (cross-region) inference-profile IDs and ARNs, and application-inference-profile ARNs.
//!
//! Every kind parses from and displays to exactly the string Bedrock uses, so
//! `ModelRef::parse(&r.to_string()) == Ok(r)` holds for every value.
//!
//! How a bare ID is told apart: a dotted ID with two dot-separated parts
//! (`provider.model`) is a foundation-model ID; one with three or more parts whose first
//! part is a geography (lowercase letters with inner hyphens, like `us`, `us-gov`,
//! `global`) is a system-defined profile ID (`geo.provider.model`). Unknown geographies are
//! accepted so that a prefix AWS adds tomorrow still parses.
//!
//! Other Bedrock ARNs (provisioned, custom or imported models, prompts) are outside the
//! product's scope and are reported as [`ArnError::ResourceType`].

use std::fmt;
use std::str::FromStr;

/// Longest model identifier Bedrock accepts on the runtime API.
pub const MAX_MODEL_REF_LEN: usize = 2048;
/// Longest foundation-model ID (`BedrockModelId` in the service model).
pub const MAX_MODEL_ID_LEN: usize = 140;
/// Longest inference-profile ID (`InferenceProfileId` in the service model).
pub const MAX_PROFILE_ID_LEN: usize = 64;

/// Geographies of system-defined inference profiles known today. Parsing also accepts
/// any other lowercase prefix; this list only documents and tests the current set.
pub const KNOWN_GEOS: &[&str] = &["us", "eu", "apac", "jp", "au", "us-gov", "global"];

/// What is wrong with a string that should have been a Bedrock model reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArnError {
    /// The string is empty.
    #[error(
        "model reference is empty; expected a model ID like `anthropic.claude-3-haiku-20240307-v1:0` or an inference-profile ARN"
    )]
    Empty,
    /// The string is longer than Bedrock allows.
    #[error("`{input}` is {len} characters long; Bedrock accepts at most {max}")]
    TooLong {
        /// The rejected string.
        input: String,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Starts with `arn:` but does not have six colon-separated fields.
    #[error(
        "`{input}` is not a well-formed ARN; expected `arn:PARTITION:bedrock:REGION:ACCOUNT:TYPE/ID`"
    )]
    ArnShape {
        /// The rejected string.
        input: String,
    },
    /// The partition is not `aws` or `aws-<name>`.
    #[error(
        "`{input}` has partition `{partition}`; expected `aws` or `aws-<name>` such as `aws-us-gov` or `aws-cn`"
    )]
    Partition {
        /// The rejected string.
        input: String,
        /// The partition found.
        partition: String,
    },
    /// The ARN belongs to another service.
    #[error("`{input}` is an ARN of service `{service}`; a model reference is a `bedrock` ARN")]
    Service {
        /// The rejected string.
        input: String,
        /// The service found.
        service: String,
    },
    /// The region field is not a region name.
    #[error("`{input}` has region `{region}`, which is not a region name such as `us-east-1`")]
    Region {
        /// The rejected string.
        input: String,
        /// The region found.
        region: String,
    },
    /// The account field is not 12 digits (or, where allowed, empty).
    #[error("`{input}` has account `{account}`; expected a 12-digit AWS account ID")]
    Account {
        /// The rejected string.
        input: String,
        /// The account found.
        account: String,
    },
    /// A foundation-model ARN with a non-empty account field.
    #[error(
        "`{input}` is a foundation-model ARN with account `{account}`; foundation-model ARNs have an empty account field: `arn:aws:bedrock:REGION::foundation-model/MODEL_ID`"
    )]
    FoundationModelAccount {
        /// The rejected string.
        input: String,
        /// The account found.
        account: String,
    },
    /// The resource type is not one the product handles.
    #[error(
        "`{input}` has resource type `{resource_type}`; expected `foundation-model`, `inference-profile` or `application-inference-profile`"
    )]
    ResourceType {
        /// The rejected string.
        input: String,
        /// The resource type found.
        resource_type: String,
    },
    /// An application-inference-profile ID that Bedrock would reject.
    #[error(
        "`{input}` has profile ID `{id}`; expected 1 to 64 letters, digits, `-`, `:` or `.` (real IDs look like `abcdefghij12`)"
    )]
    ProfileId {
        /// The rejected string.
        input: String,
        /// The ID found.
        id: String,
    },
    /// A foundation-model ID that Bedrock would reject.
    #[error("`{input}` is not a valid model ID: {reason}")]
    ModelId {
        /// The rejected string.
        input: String,
        /// What exactly is wrong.
        reason: String,
    },
    /// A system-profile prefix that is not a geography.
    #[error(
        "`{input}` starts with `{geo}.`, which is not an inference-profile geography (lowercase letters such as `us`, `eu`, `apac`, `us-gov`, `global`)"
    )]
    Geo {
        /// The rejected string.
        input: String,
        /// The prefix found.
        geo: String,
    },
    /// A valid model reference of another kind where an application profile was required.
    #[error(
        "`{input}` is a {kind} reference; expected an application inference-profile ARN `arn:aws:bedrock:REGION:ACCOUNT:application-inference-profile/ID`"
    )]
    NotAppProfile {
        /// The rejected string.
        input: String,
        /// The resource type it has.
        kind: &'static str,
    },
    /// A system-profile ARN whose ID has no geography prefix.
    #[error(
        "`{input}` is an inference-profile ARN whose ID `{id}` has no geography prefix; expected e.g. `us.anthropic.claude-3-5-sonnet-20240620-v1:0`"
    )]
    MissingGeo {
        /// The rejected string.
        input: String,
        /// The ID found.
        id: String,
    },
}

/// True when `s` is shaped like an AWS region name: `us-east-1`, `eu-central-2`,
/// `us-gov-west-1`, `ap-southeast-5`, `cn-north-1`, `us-isob-east-1`.
///
/// The check is structural (two-letter area, or `eusc` for the European Sovereign Cloud's
/// `eusc-de-east-1`; one or more lowercase words; a number), so regions AWS opens later are
/// accepted without a code change.
pub fn is_region_name(s: &str) -> bool {
    if s.is_empty() || s.len() > 20 {
        return false;
    }
    let parts: Vec<&str> = s.split('-').collect();
    if parts.len() < 3 {
        return false;
    }
    let (first, rest) = (parts[0], &parts[1..]);
    let Some((number, words)) = rest.split_last() else {
        return false;
    };
    // Two letters in every partition but the European Sovereign Cloud's (`eusc-de-east-1`,
    // botocore's partitions.json: `^eusc\-(de)\-\w+\-\d+$`).
    (first == "eusc" || first.len() == 2)
        && first.bytes().all(|b| b.is_ascii_lowercase())
        && words
            .iter()
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
        && !number.is_empty()
        && number.len() <= 2
        && number.bytes().all(|b| b.is_ascii_digit())
        && !number.starts_with('0')
}

/// True when `s` parses as an inference-profile ARN (system-defined or application), by the
/// typed parser rather than a substring: `arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0`.
pub fn is_inference_profile_arn(s: &str) -> bool {
    ModelRef::parse(s).is_ok_and(|r| r.is_profile_arn())
}

/// True when `s` parses as an application-inference-profile ARN.
pub fn is_app_profile_arn(s: &str) -> bool {
    AppProfileArn::parse(s).is_ok()
}

fn is_partition(s: &str) -> bool {
    match s.strip_prefix("aws") {
        Some("") => true,
        Some(rest) => {
            rest.starts_with('-')
                && rest.len() > 1
                && !rest.ends_with('-')
                && !rest.contains("--")
                && rest[1..]
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        }
        None => false,
    }
}

fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_geo(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
        && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
}

fn is_model_part_byte(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'
}

/// Checks `part` (a dot- or colon-separated piece of a model ID); `what` names it in errors.
fn check_model_part(input: &str, part: &str, what: &str) -> Result<(), ArnError> {
    let err = |reason: String| ArnError::ModelId {
        input: input.to_owned(),
        reason,
    };
    if part.is_empty() {
        return Err(err(format!("the {what} is empty")));
    }
    if part.len() > 63 {
        return Err(err(format!(
            "the {what} `{part}` is {} characters long; at most 63 are allowed",
            part.len()
        )));
    }
    if let Some(c) = part
        .chars()
        .find(|c| !(c.is_ascii() && is_model_part_byte(*c as u8)))
    {
        let hint = if c.is_ascii_uppercase() {
            " (model IDs are lowercase)"
        } else {
            ""
        };
        return Err(err(format!(
            "the {what} `{part}` contains `{c}`; only lowercase letters, digits and `-` are allowed{hint}"
        )));
    }
    Ok(())
}

/// A foundation-model ID such as `anthropic.claude-3-haiku-20240307-v1:0`:
/// `provider.model[:version[:variant]]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FoundationModelId(String);

impl FoundationModelId {
    /// Parses a bare foundation-model ID (no geography prefix, no ARN).
    pub fn parse(s: &str) -> Result<Self, ArnError> {
        Self::parse_in(s, s)
    }

    /// Parses `s`, naming `input` (the whole string the caller gave) in errors.
    fn parse_in(input: &str, s: &str) -> Result<Self, ArnError> {
        if s.is_empty() {
            return Err(ArnError::Empty);
        }
        if s.len() > MAX_MODEL_ID_LEN {
            return Err(ArnError::TooLong {
                input: input.to_owned(),
                len: s.len(),
                max: MAX_MODEL_ID_LEN,
            });
        }
        let mut colon_parts = s.split(':');
        let dotted = colon_parts.next().unwrap_or_default();
        let versions: Vec<&str> = colon_parts.collect();
        if versions.len() > 2 {
            return Err(ArnError::ModelId {
                input: input.to_owned(),
                reason: "at most two `:` version suffixes are allowed (like `-v1:0`)".to_owned(),
            });
        }
        let parts: Vec<&str> = dotted.split('.').collect();
        if parts.len() != 2 {
            return Err(ArnError::ModelId {
                input: input.to_owned(),
                reason: format!(
                    "expected `provider.model` with exactly one `.` before the version, like `anthropic.claude-3-haiku-20240307-v1:0`; found {} part(s)",
                    parts.len()
                ),
            });
        }
        check_model_part(input, parts[0], "provider")?;
        check_model_part(input, parts[1], "model name")?;
        for v in versions {
            check_model_part(input, v, "version suffix")?;
        }
        Ok(Self(s.to_owned()))
    }

    /// The provider part: `anthropic` in `anthropic.claude-3-haiku-20240307-v1:0`.
    pub fn provider(&self) -> &str {
        self.0.split('.').next().unwrap_or_default()
    }

    /// The model part after the provider, including any version: `claude-3-haiku-20240307-v1:0`.
    pub fn name(&self) -> &str {
        self.0.split_once('.').map(|(_, n)| n).unwrap_or_default()
    }

    /// The ID as Bedrock spells it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FoundationModelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for FoundationModelId {
    type Err = ArnError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// A system-defined (cross-region) inference-profile ID: `{geo}.{foundation model ID}`,
/// e.g. `us.anthropic.claude-3-5-sonnet-20240620-v1:0`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SystemProfileId {
    /// The geography prefix: `us`, `eu`, `apac`, `jp`, `au`, `us-gov`, `global`, or a newer one.
    pub geo: String,
    /// The foundation model the profile routes to.
    pub model: FoundationModelId,
}

impl SystemProfileId {
    /// Parses `geo.provider.model[:version]`.
    pub fn parse(s: &str) -> Result<Self, ArnError> {
        Self::parse_in(s, s)
    }

    fn parse_in(input: &str, s: &str) -> Result<Self, ArnError> {
        if s.is_empty() {
            return Err(ArnError::Empty);
        }
        if s.len() > MAX_PROFILE_ID_LEN {
            return Err(ArnError::TooLong {
                input: input.to_owned(),
                len: s.len(),
                max: MAX_PROFILE_ID_LEN,
            });
        }
        let Some((geo, model)) = s.split_once('.') else {
            return Err(ArnError::MissingGeo {
                input: input.to_owned(),
                id: s.to_owned(),
            });
        };
        if !is_geo(geo) {
            return Err(ArnError::Geo {
                input: input.to_owned(),
                geo: geo.to_owned(),
            });
        }
        let before_version = model.split(':').next().unwrap_or_default();
        if !before_version.contains('.') {
            return Err(ArnError::MissingGeo {
                input: input.to_owned(),
                id: s.to_owned(),
            });
        }
        Ok(Self {
            geo: geo.to_owned(),
            model: FoundationModelId::parse_in(input, model)?,
        })
    }
}

impl fmt::Display for SystemProfileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.geo, self.model)
    }
}

impl FromStr for SystemProfileId {
    type Err = ArnError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// `arn:{partition}:bedrock:{region}::foundation-model/{model}` (the account is always empty).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FoundationModelArn {
    /// `aws`, `aws-us-gov`, `aws-cn`, ...
    pub partition: String,
    /// The region named in the ARN.
    pub region: String,
    /// The model.
    pub model: FoundationModelId,
}

/// `arn:{partition}:bedrock:{region}:{account}:inference-profile/{geo.model}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SystemProfileArn {
    /// `aws`, `aws-us-gov`, `aws-cn`, ...
    pub partition: String,
    /// The region named in the ARN (the source region of the call).
    pub region: String,
    /// The 12-digit account, or empty (the service model allows both).
    pub account: String,
    /// The profile.
    pub profile: SystemProfileId,
}

/// `arn:{partition}:bedrock:{region}:{account}:application-inference-profile/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AppProfileArn {
    /// `aws`, `aws-us-gov`, `aws-cn`, ...
    pub partition: String,
    /// The region the profile lives in; calls through it go to this region.
    pub region: String,
    /// The 12-digit owning account.
    pub account: String,
    /// The profile ID (12 lowercase alphanumerics in practice).
    pub id: String,
}

impl AppProfileArn {
    /// Parses an application-inference-profile ARN; any other model reference is an error.
    pub fn parse(s: &str) -> Result<Self, ArnError> {
        match ModelRef::parse(s)? {
            ModelRef::AppProfileArn(a) => Ok(a),
            other => Err(ArnError::NotAppProfile {
                input: s.to_owned(),
                kind: other.kind().resource_type(),
            }),
        }
    }
}

impl fmt::Display for FoundationModelArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:bedrock:{}::foundation-model/{}",
            self.partition, self.region, self.model
        )
    }
}

impl fmt::Display for SystemProfileArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:bedrock:{}:{}:inference-profile/{}",
            self.partition, self.region, self.account, self.profile
        )
    }
}

impl fmt::Display for AppProfileArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:bedrock:{}:{}:application-inference-profile/{}",
            self.partition, self.region, self.account, self.id
        )
    }
}

impl FromStr for AppProfileArn {
    type Err = ArnError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Which form a [`ModelRef`] takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefKind {
    /// `anthropic.claude-...`
    FoundationModelId,
    /// `arn:...:foundation-model/...`
    FoundationModelArn,
    /// `us.anthropic.claude-...`
    SystemProfileId,
    /// `arn:...:inference-profile/us.anthropic...`
    SystemProfileArn,
    /// `arn:...:application-inference-profile/...`
    AppProfileArn,
}

impl RefKind {
    /// The ARN resource type this kind belongs to.
    pub fn resource_type(self) -> &'static str {
        match self {
            Self::FoundationModelId | Self::FoundationModelArn => "foundation-model",
            Self::SystemProfileId | Self::SystemProfileArn => "inference-profile",
            Self::AppProfileArn => "application-inference-profile",
        }
    }
}

/// Anything a caller may pass to Bedrock as a `modelId` or as an inference profile's model
/// source, within the product's scope.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ModelRef {
    /// A bare foundation-model ID.
    FoundationModel(FoundationModelId),
    /// A foundation-model ARN.
    FoundationModelArn(FoundationModelArn),
    /// A system-defined inference-profile ID.
    SystemProfile(SystemProfileId),
    /// A system-defined inference-profile ARN.
    SystemProfileArn(SystemProfileArn),
    /// An application inference-profile ARN.
    AppProfileArn(AppProfileArn),
}

impl ModelRef {
    /// Parses any supported form; the error says precisely what is wrong.
    pub fn parse(s: &str) -> Result<Self, ArnError> {
        if s.is_empty() {
            return Err(ArnError::Empty);
        }
        if s.len() > MAX_MODEL_REF_LEN {
            return Err(ArnError::TooLong {
                input: s.to_owned(),
                len: s.len(),
                max: MAX_MODEL_REF_LEN,
            });
        }
        if let Some(rest) = s.strip_prefix("arn:") {
            return Self::parse_arn(s, rest);
        }
        let dotted = s.split(':').next().unwrap_or_default();
        if dotted.split('.').count() >= 3 {
            SystemProfileId::parse_in(s, s).map(Self::SystemProfile)
        } else {
            FoundationModelId::parse_in(s, s).map(Self::FoundationModel)
        }
    }

    fn parse_arn(input: &str, rest: &str) -> Result<Self, ArnError> {
        let shape = || ArnError::ArnShape {
            input: input.to_owned(),
        };
        // partition:service:region:account:resource — the resource may itself contain `:`.
        let mut fields = rest.splitn(5, ':');
        let partition = fields.next().ok_or_else(shape)?;
        let service = fields.next().ok_or_else(shape)?;
        let region = fields.next().ok_or_else(shape)?;
        let account = fields.next().ok_or_else(shape)?;
        let resource = fields.next().ok_or_else(shape)?;
        if !is_partition(partition) {
            return Err(ArnError::Partition {
                input: input.to_owned(),
                partition: partition.to_owned(),
            });
        }
        if service != "bedrock" {
            return Err(ArnError::Service {
                input: input.to_owned(),
                service: service.to_owned(),
            });
        }
        if !is_region_name(region) {
            return Err(ArnError::Region {
                input: input.to_owned(),
                region: region.to_owned(),
            });
        }
        let Some((resource_type, id)) = resource.split_once('/') else {
            return Err(shape());
        };
        let partition = partition.to_owned();
        let region = region.to_owned();
        match resource_type {
            "foundation-model" => {
                if !account.is_empty() {
                    return Err(ArnError::FoundationModelAccount {
                        input: input.to_owned(),
                        account: account.to_owned(),
                    });
                }
                Ok(Self::FoundationModelArn(FoundationModelArn {
                    partition,
                    region,
                    model: FoundationModelId::parse_in(input, id)?,
                }))
            }
            "inference-profile" => {
                if !account.is_empty() && !is_account(account) {
                    return Err(ArnError::Account {
                        input: input.to_owned(),
                        account: account.to_owned(),
                    });
                }
                Ok(Self::SystemProfileArn(SystemProfileArn {
                    partition,
                    region,
                    account: account.to_owned(),
                    profile: SystemProfileId::parse_in(input, id)?,
                }))
            }
            "application-inference-profile" => {
                if !is_account(account) {
                    return Err(ArnError::Account {
                        input: input.to_owned(),
                        account: account.to_owned(),
                    });
                }
                let valid_id = !id.is_empty()
                    && id.len() <= MAX_PROFILE_ID_LEN
                    && id
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b':' | b'.'));
                if !valid_id {
                    return Err(ArnError::ProfileId {
                        input: input.to_owned(),
                        id: id.to_owned(),
                    });
                }
                Ok(Self::AppProfileArn(AppProfileArn {
                    partition,
                    region,
                    account: account.to_owned(),
                    id: id.to_owned(),
                }))
            }
            other => Err(ArnError::ResourceType {
                input: input.to_owned(),
                resource_type: other.to_owned(),
            }),
        }
    }

    /// Which form this is.
    pub fn kind(&self) -> RefKind {
        match self {
            Self::FoundationModel(_) => RefKind::FoundationModelId,
            Self::FoundationModelArn(_) => RefKind::FoundationModelArn,
            Self::SystemProfile(_) => RefKind::SystemProfileId,
            Self::SystemProfileArn(_) => RefKind::SystemProfileArn,
            Self::AppProfileArn(_) => RefKind::AppProfileArn,
        }
    }

    /// True for an inference-profile ARN, system-defined or application: a `modelId` that
    /// routes through a profile rather than straight to a model.
    pub fn is_profile_arn(&self) -> bool {
        matches!(self, Self::SystemProfileArn(_) | Self::AppProfileArn(_))
    }

    /// True for the ARN forms.
    pub fn is_arn(&self) -> bool {
        matches!(
            self,
            Self::FoundationModelArn(_) | Self::SystemProfileArn(_) | Self::AppProfileArn(_)
        )
    }

    /// The partition of an ARN form.
    pub fn partition(&self) -> Option<&str> {
        match self {
            Self::FoundationModelArn(a) => Some(&a.partition),
            Self::SystemProfileArn(a) => Some(&a.partition),
            Self::AppProfileArn(a) => Some(&a.partition),
            Self::FoundationModel(_) | Self::SystemProfile(_) => None,
        }
    }

    /// The region of an ARN form; IDs carry none (they run in the caller's region).
    pub fn region(&self) -> Option<&str> {
        match self {
            Self::FoundationModelArn(a) => Some(&a.region),
            Self::SystemProfileArn(a) => Some(&a.region),
            Self::AppProfileArn(a) => Some(&a.region),
            Self::FoundationModel(_) | Self::SystemProfile(_) => None,
        }
    }

    /// The account of an ARN form, when the ARN names one (foundation-model ARNs never do).
    pub fn account(&self) -> Option<&str> {
        match self {
            Self::SystemProfileArn(a) if !a.account.is_empty() => Some(&a.account),
            Self::AppProfileArn(a) => Some(&a.account),
            _ => None,
        }
    }

    /// The foundation model inside a foundation-model or system-profile form. An
    /// application profile's model is only known from Bedrock (or the config), so `None`.
    pub fn foundation_model(&self) -> Option<&FoundationModelId> {
        match self {
            Self::FoundationModel(m) => Some(m),
            Self::FoundationModelArn(a) => Some(&a.model),
            Self::SystemProfile(p) => Some(&p.model),
            Self::SystemProfileArn(a) => Some(&a.profile.model),
            Self::AppProfileArn(_) => None,
        }
    }

    /// The system profile inside a system-profile ID or ARN.
    pub fn system_profile(&self) -> Option<&SystemProfileId> {
        match self {
            Self::SystemProfile(p) => Some(p),
            Self::SystemProfileArn(a) => Some(&a.profile),
            _ => None,
        }
    }

    /// The application profile, for that form.
    pub fn app_profile(&self) -> Option<&AppProfileArn> {
        match self {
            Self::AppProfileArn(a) => Some(a),
            _ => None,
        }
    }

    /// Whether two references name the same Bedrock target.
    ///
    /// "Same" means: the same resource family (a foundation model, a system profile, or an
    /// application profile — a model and a profile over it are *different* targets because
    /// they route differently), the same identity inside it (model ID; geography and model;
    /// profile ID), and agreement on every location field both sides carry (partition,
    /// region, non-empty account). So `anthropic.claude-...` equals
    /// `arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-...`, and
    /// `us.anthropic.claude-...` equals its `inference-profile` ARN in any region and
    /// account, but two ARNs of the same profile in different regions are not the same.
    pub fn same_target(&self, other: &ModelRef) -> bool {
        fn agree(a: Option<&str>, b: Option<&str>) -> bool {
            match (a, b) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            }
        }
        let identity = match (self, other) {
            (Self::AppProfileArn(a), Self::AppProfileArn(b)) => a.id == b.id,
            (Self::AppProfileArn(_), _) | (_, Self::AppProfileArn(_)) => false,
            _ => match (self.system_profile(), other.system_profile()) {
                (Some(a), Some(b)) => a == b,
                (None, None) => self.foundation_model() == other.foundation_model(),
                _ => false,
            },
        };
        identity
            && agree(self.partition(), other.partition())
            && agree(self.region(), other.region())
            && agree(self.account(), other.account())
    }
}

impl fmt::Display for ModelRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::FoundationModel(m) => m.fmt(f),
            Self::FoundationModelArn(a) => a.fmt(f),
            Self::SystemProfile(p) => p.fmt(f),
            Self::SystemProfileArn(a) => a.fmt(f),
            Self::AppProfileArn(a) => a.fmt(f),
        }
    }
}

impl FromStr for ModelRef {
    type Err = ArnError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for ModelRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for ModelRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for AppProfileArn {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for AppProfileArn {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HAIKU: &str = "anthropic.claude-3-haiku-20240307-v1:0";

    fn parse(s: &str) -> ModelRef {
        ModelRef::parse(s).unwrap()
    }

    #[test]
    fn foundation_model_id_parses_with_provider() {
        let r = parse(HAIKU);
        assert_eq!(r.kind(), RefKind::FoundationModelId);
        let m = r.foundation_model().unwrap();
        assert_eq!(m.provider(), "anthropic");
        assert_eq!(m.name(), "claude-3-haiku-20240307-v1:0");
        assert_eq!(m.as_str(), HAIKU);
        assert_eq!(r.region(), None);
        assert_eq!(r.account(), None);
    }

    #[test]
    fn foundation_model_arn_has_region_and_no_account() {
        let r = parse(&format!(
            "arn:aws:bedrock:us-east-1::foundation-model/{HAIKU}"
        ));
        assert_eq!(r.kind(), RefKind::FoundationModelArn);
        assert_eq!(r.region(), Some("us-east-1"));
        assert_eq!(r.account(), None);
        assert_eq!(r.foundation_model().unwrap().as_str(), HAIKU);
    }

    #[test]
    fn foundation_model_arn_with_account_is_rejected() {
        let e = ModelRef::parse(&format!(
            "arn:aws:bedrock:us-east-1:123456789012:foundation-model/{HAIKU}"
        ))
        .unwrap_err();
        assert!(matches!(e, ArnError::FoundationModelAccount { .. }), "{e}");
        assert!(e.to_string().contains("empty account"));
    }

    #[test]
    fn every_known_geo_parses_as_a_system_profile() {
        for geo in KNOWN_GEOS {
            let r = parse(&format!("{geo}.{HAIKU}"));
            let p = r.system_profile().unwrap();
            assert_eq!(p.geo, *geo);
            assert_eq!(p.model.as_str(), HAIKU);
        }
    }

    #[test]
    fn a_new_lowercase_geo_is_accepted() {
        let r = parse(&format!("mars.{HAIKU}"));
        assert_eq!(r.system_profile().unwrap().geo, "mars");
    }

    #[test]
    fn a_geo_with_digits_or_capitals_is_rejected() {
        for bad in ["us1", "US", "-us", "us-", "u--s"] {
            let e = ModelRef::parse(&format!("{bad}.{HAIKU}")).unwrap_err();
            assert!(matches!(e, ArnError::Geo { .. }), "{bad}: {e}");
        }
    }

    #[test]
    fn system_profile_arn_parses_with_account_and_region() {
        let s = format!("arn:aws:bedrock:us-west-2:123456789012:inference-profile/us.{HAIKU}");
        let r = parse(&s);
        assert_eq!(r.kind(), RefKind::SystemProfileArn);
        assert_eq!(r.region(), Some("us-west-2"));
        assert_eq!(r.account(), Some("123456789012"));
        assert_eq!(r.foundation_model().unwrap().as_str(), HAIKU);
        assert_eq!(r.to_string(), s);
    }

    #[test]
    fn system_profile_arn_may_have_an_empty_account() {
        let r = parse(&format!(
            "arn:aws:bedrock:us-west-2::inference-profile/eu.{HAIKU}"
        ));
        assert_eq!(r.account(), None);
    }

    #[test]
    fn system_profile_arn_without_geo_is_rejected() {
        let e = ModelRef::parse(&format!(
            "arn:aws:bedrock:us-west-2:123456789012:inference-profile/{HAIKU}"
        ))
        .unwrap_err();
        assert!(matches!(e, ArnError::MissingGeo { .. }), "{e}");
    }

    #[test]
    fn app_profile_arn_parses_all_fields() {
        let s = "arn:aws-us-gov:bedrock:us-gov-west-1:123456789012:application-inference-profile/abcdefghij12";
        let a = AppProfileArn::parse(s).unwrap();
        assert_eq!(a.partition, "aws-us-gov");
        assert_eq!(a.region, "us-gov-west-1");
        assert_eq!(a.account, "123456789012");
        assert_eq!(a.id, "abcdefghij12");
        assert_eq!(a.to_string(), s);
        assert_eq!(parse(s).foundation_model(), None);
        let sovereign = "arn:aws-eusc:bedrock:eusc-de-east-1:123456789012:application-inference-profile/abcdefghij12";
        assert_eq!(
            AppProfileArn::parse(sovereign).unwrap().region,
            "eusc-de-east-1"
        );
    }

    #[test]
    fn app_profile_arn_needs_a_twelve_digit_account() {
        for acct in ["", "12345", "12345678901a"] {
            let s = format!("arn:aws:bedrock:us-east-1:{acct}:application-inference-profile/abc");
            let e = ModelRef::parse(&s).unwrap_err();
            assert!(matches!(e, ArnError::Account { .. }), "{acct}: {e}");
        }
    }

    #[test]
    fn app_profile_id_with_bad_characters_is_rejected() {
        for id in ["", "ab/cd", "ab cd", &"a".repeat(65)] {
            let s = format!(
                "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/{id}"
            );
            let e = ModelRef::parse(&s).unwrap_err();
            assert!(matches!(e, ArnError::ProfileId { .. }), "{id}: {e}");
        }
    }

    #[test]
    fn app_profile_parse_rejects_other_kinds_by_name() {
        let e = AppProfileArn::parse(HAIKU).unwrap_err();
        assert_eq!(
            e,
            ArnError::NotAppProfile {
                input: HAIKU.into(),
                kind: "foundation-model"
            }
        );
    }

    #[test]
    fn arn_errors_name_the_bad_field() {
        type Check = fn(&ArnError) -> bool;
        let cases: &[(&str, Check)] = &[
            ("arn:aws:bedrock:us-east-1", |e| {
                matches!(e, ArnError::ArnShape { .. })
            }),
            (
                "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile",
                |e| matches!(e, ArnError::ArnShape { .. }),
            ),
            ("arn:azure:bedrock:us-east-1::foundation-model/a.b", |e| {
                matches!(e, ArnError::Partition { .. })
            }),
            ("arn:aws-:bedrock:us-east-1::foundation-model/a.b", |e| {
                matches!(e, ArnError::Partition { .. })
            }),
            ("arn:aws:s3:us-east-1::foundation-model/a.b", |e| {
                matches!(e, ArnError::Service { .. })
            }),
            ("arn:aws:bedrock:useast1::foundation-model/a.b", |e| {
                matches!(e, ArnError::Region { .. })
            }),
            ("arn:aws:bedrock:::foundation-model/a.b", |e| {
                matches!(e, ArnError::Region { .. })
            }),
            (
                "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc",
                |e| matches!(e, ArnError::ResourceType { .. }),
            ),
            (
                "arn:aws:bedrock:us-east-1:12:inference-profile/us.a.b",
                |e| matches!(e, ArnError::Account { .. }),
            ),
        ];
        for (s, ok) in cases {
            let e = ModelRef::parse(s).unwrap_err();
            assert!(ok(&e), "{s}: {e:?}");
            assert!(e.to_string().contains(s), "error names the input: {e}");
        }
    }

    #[test]
    fn model_id_errors_say_what_is_wrong() {
        let e = ModelRef::parse("Anthropic.Claude-3").unwrap_err();
        assert!(e.to_string().contains("lowercase"), "{e}");
        let e = ModelRef::parse("claude-3-haiku").unwrap_err();
        assert!(e.to_string().contains("provider.model"), "{e}");
        let e = ModelRef::parse("a.b:1:2:3").unwrap_err();
        assert!(e.to_string().contains("two `:`"), "{e}");
        let e = ModelRef::parse("a.b:").unwrap_err();
        assert!(e.to_string().contains("version suffix"), "{e}");
        let e = ModelRef::parse(".b").unwrap_err();
        assert!(e.to_string().contains("provider is empty"), "{e}");
        let e = ModelRef::parse(&format!("a.{}", "b".repeat(64))).unwrap_err();
        assert!(e.to_string().contains("at most 63"), "{e}");
        let e = ModelRef::parse(&format!(
            "{}.{}:{}",
            "a".repeat(60),
            "b".repeat(60),
            "c".repeat(30)
        ))
        .unwrap_err();
        assert!(matches!(e, ArnError::TooLong { max: 140, .. }), "{e}");
        assert_eq!(ModelRef::parse(""), Err(ArnError::Empty));
        let e = ModelRef::parse(&"a".repeat(2049)).unwrap_err();
        assert!(matches!(e, ArnError::TooLong { max: 2048, .. }), "{e}");
    }

    #[test]
    fn system_profile_id_over_64_characters_is_rejected() {
        let long = format!("us.anthropic.{}-v1:0", "a".repeat(50));
        let e = ModelRef::parse(&long).unwrap_err();
        assert!(matches!(e, ArnError::TooLong { max: 64, .. }), "{e}");
        // The same model without the prefix is a valid (up to 140 characters) model ID.
        assert!(ModelRef::parse(&long[3..]).is_ok());
    }

    #[test]
    fn profile_arns_are_recognised_by_the_parser_not_by_substring() {
        let app =
            "arn:aws:bedrock:eu-west-1:123456789012:application-inference-profile/abcdefghij12";
        let system = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0";
        assert!(is_inference_profile_arn(app) && is_app_profile_arn(app));
        assert!(is_inference_profile_arn(system) && !is_app_profile_arn(system));
        for not_profile in [
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
            "us.anthropic.claude-3-haiku-20240307-v1:0",
            "x:application-inference-profile/abc",
            "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/",
        ] {
            assert!(!is_inference_profile_arn(not_profile), "{not_profile}");
            assert!(!is_app_profile_arn(not_profile), "{not_profile}");
        }
    }

    #[test]
    fn region_names_are_recognised_structurally() {
        for ok in [
            "us-east-1",
            "eu-central-2",
            "us-gov-west-1",
            "ap-southeast-5",
            "cn-north-1",
            "us-isob-east-1",
            "il-central-1",
            "us-west-2",
            "eusc-de-east-1",
        ] {
            assert!(is_region_name(ok), "{ok}");
        }
        for bad in [
            "",
            "us-east",
            "useast1",
            "US-EAST-1",
            "us-east-01",
            "u-east-1",
            "us--1",
            "us-east-123",
            "usa-east-1",
            "eusd-de-east-1",
            "us-east-1 ",
            "Moon",
            "us-east1-1",
        ] {
            assert!(!is_region_name(bad), "{bad}");
        }
    }

    #[test]
    fn id_and_arn_forms_of_a_model_are_the_same_target() {
        let id = parse(HAIKU);
        let arn = parse(&format!(
            "arn:aws:bedrock:us-east-1::foundation-model/{HAIKU}"
        ));
        let arn_west = parse(&format!(
            "arn:aws:bedrock:us-west-2::foundation-model/{HAIKU}"
        ));
        assert!(id.same_target(&arn) && arn.same_target(&id));
        assert!(!arn.same_target(&arn_west), "different regions differ");
        assert!(!id.same_target(&parse("anthropic.claude-3-haiku-20240307-v1:1")));
    }

    #[test]
    fn a_profile_is_not_the_same_target_as_its_model() {
        let model = parse(HAIKU);
        let profile = parse(&format!("us.{HAIKU}"));
        assert!(!model.same_target(&profile));
        assert!(!profile.same_target(&parse(&format!("eu.{HAIKU}"))));
        let arn = parse(&format!(
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.{HAIKU}"
        ));
        assert!(profile.same_target(&arn));
        let other_acct = parse(&format!(
            "arn:aws:bedrock:us-east-1:210987654321:inference-profile/us.{HAIKU}"
        ));
        assert!(!arn.same_target(&other_acct));
        let no_acct = parse(&format!(
            "arn:aws:bedrock:us-east-1::inference-profile/us.{HAIKU}"
        ));
        assert!(
            arn.same_target(&no_acct),
            "an empty account agrees with any"
        );
    }

    #[test]
    fn app_profiles_are_the_same_target_only_with_the_same_arn() {
        let a = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abcdefghij12";
        assert!(parse(a).same_target(&parse(a)));
        let other_id = a.replace("abcdefghij12", "abcdefghij13");
        let other_region = a.replace("us-east-1", "us-west-2");
        assert!(!parse(a).same_target(&parse(&other_id)));
        assert!(!parse(a).same_target(&parse(&other_region)));
        assert!(!parse(a).same_target(&parse(HAIKU)));
    }

    #[test]
    fn model_refs_round_trip_through_serde_as_strings() {
        let s = format!("arn:aws:bedrock:us-east-1::foundation-model/{HAIKU}");
        let json = serde_json::to_string(&parse(&s)).unwrap();
        assert_eq!(json, format!("\"{s}\""));
        let back: ModelRef = serde_json::from_str(&json).unwrap();
        assert_eq!(back, parse(&s));
        assert!(serde_json::from_str::<ModelRef>("\"nope\"").is_err());
    }

    // ---- property tests: parse(display(x)) == x for every kind ----

    fn part() -> impl Strategy<Value = String> {
        // Short enough that `geo.provider.model:v:v` stays within the 64-character profile-ID limit.
        "[a-z0-9][a-z0-9-]{0,9}"
    }

    fn fm_id() -> impl Strategy<Value = FoundationModelId> {
        (part(), part(), proptest::collection::vec(part(), 0..=2)).prop_map(|(p, n, v)| {
            let mut s = format!("{p}.{n}");
            for x in v {
                s.push(':');
                s.push_str(&x);
            }
            FoundationModelId(s)
        })
    }

    fn geo() -> impl Strategy<Value = String> {
        prop_oneof![
            proptest::sample::select(KNOWN_GEOS).prop_map(str::to_owned),
            "[a-z]{1,6}(-[a-z]{1,4})?",
        ]
    }

    fn region() -> impl Strategy<Value = String> {
        (
            "[a-z]{2}",
            proptest::collection::vec("[a-z]{1,5}", 1..=2),
            1u8..=99,
        )
            .prop_map(|(a, w, n)| format!("{a}-{}-{n}", w.join("-")))
    }

    fn partition() -> impl Strategy<Value = String> {
        prop_oneof![Just("aws".to_owned()), "aws-[a-z]{1,4}(-[a-z]{1,2})?"]
    }

    fn sys_id() -> impl Strategy<Value = SystemProfileId> {
        (geo(), fm_id()).prop_map(|(geo, model)| SystemProfileId { geo, model })
    }

    fn model_ref() -> impl Strategy<Value = ModelRef> {
        prop_oneof![
            fm_id().prop_map(ModelRef::FoundationModel),
            (partition(), region(), fm_id()).prop_map(|(partition, region, model)| {
                ModelRef::FoundationModelArn(FoundationModelArn {
                    partition,
                    region,
                    model,
                })
            }),
            sys_id().prop_map(ModelRef::SystemProfile),
            (partition(), region(), "([0-9]{12})?", sys_id()).prop_map(
                |(partition, region, account, profile)| {
                    ModelRef::SystemProfileArn(SystemProfileArn {
                        partition,
                        region,
                        account,
                        profile,
                    })
                }
            ),
            (partition(), region(), "[0-9]{12}", "[a-zA-Z0-9.:-]{1,64}").prop_map(
                |(partition, region, account, id)| {
                    ModelRef::AppProfileArn(AppProfileArn {
                        partition,
                        region,
                        account,
                        id,
                    })
                }
            ),
        ]
    }

    proptest! {
        #[test]
        fn every_model_ref_round_trips_through_display(r in model_ref()) {
            let shown = r.to_string();
            prop_assert_eq!(ModelRef::parse(&shown), Ok(r.clone()));
            prop_assert_eq!(shown.parse::<ModelRef>(), Ok(r.clone()));
            prop_assert!(r.same_target(&r));
        }

        #[test]
        fn foundation_model_ids_round_trip(m in fm_id()) {
            prop_assert_eq!(FoundationModelId::parse(&m.to_string()), Ok(m.clone()));
        }

        #[test]
        fn system_profile_ids_round_trip(p in sys_id()) {
            prop_assert_eq!(SystemProfileId::parse(&p.to_string()), Ok(p.clone()));
        }

        #[test]
        fn app_profile_arns_round_trip(
            (partition, region, account, id) in (partition(), region(), "[0-9]{12}", "[a-z0-9]{12}")
        ) {
            let a = AppProfileArn { partition, region, account, id };
            prop_assert_eq!(AppProfileArn::parse(&a.to_string()), Ok(a.clone()));
        }

        #[test]
        fn parsing_arbitrary_text_never_panics(s in "\\PC{0,80}") {
            let _ = ModelRef::parse(&s);
        }
    }
}
