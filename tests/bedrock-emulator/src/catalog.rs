//! The seeded catalog: foundation models and system-defined (cross-region) inference profiles.
//!
//! Sources, read 2026-12-04:
//! - Claude IDs and which geographies serve them: Anthropic's "Claude on Amazon Bedrock
//!   (legacy)" page (platform.claude.com/docs/en/build-with-claude/claude-on-amazon-bedrock-legacy,
//!   model table: Opus 4.6 `anthropic.claude-opus-4-6-v1`, Sonnet 4.6 `anthropic.claude-sonnet-4-6`,
//!   Sonnet 4.5, Opus 4.5, ... with global/us/eu/jp/apac columns) and the Bedrock model card
//!   for Claude Haiku 4.5 (docs.aws.amazon.com/bedrock/latest/userguide/model-card-anthropic-claude-haiku-4-5.html).
//! - Claude 5 generation: Sonnet 5 as `anthropic.claude-sonnet-5` (on Bedrock since
//!   2026-06-30), Haiku 5.5 as `anthropic.claude-haiku-5-5` / `us.anthropic.claude-haiku-5-5`
//!   (vercel/ai release notes, 2026-10-07), Opus 5.5 as `us.anthropic.claude-opus-5-5` (what
//!   Claude Code 2.1.332 calls in Bedrock mode). Their geographies beyond `us.` are assumed.
//! - Nova 2 Lite `amazon.nova-2-lite-v1:0`, cross-Region only (Nova 2 user guide).
//! - Claude Sonnet 4.5 was retired on 2026-11-30; it and the Claude 3.x models stay listed
//!   with `modelLifecycle.status = LEGACY` so old configs and logs resolve, and keep answering
//!   here so tests written against them still run (real Bedrock refuses retired models).
//!
//! Region lists are trimmed to at most five destinations per profile (the model's
//! `InferenceProfileModels` limit). Each geographic profile is offered in the seeded source
//! regions among its destinations; `global.` profiles in every seeded region.

use serde_json::{Value, json};

use crate::arn;

/// Regions with a seeded catalog.
pub const SEEDED_REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-northeast-1",
    "ap-southeast-2",
];

/// Commercial regions a `global.` profile may route to (a subset of all of them).
const GLOBAL_DESTINATIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-northeast-1",
    "ap-southeast-2",
];

const US3: &[&str] = &["us-east-1", "us-east-2", "us-west-2"];
const US4: &[&str] = &["us-east-1", "us-east-2", "us-west-1", "us-west-2"];
const EU4: &[&str] = &["eu-central-1", "eu-north-1", "eu-west-1", "eu-west-3"];
const EU3: &[&str] = &["eu-central-1", "eu-west-1", "eu-west-3"];
const APAC: &[&str] = &[
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-south-1",
    "ap-southeast-1",
    "ap-southeast-2",
];
const JP: &[&str] = &["ap-northeast-1", "ap-northeast-3"];
const AU: &[&str] = &["ap-southeast-2", "ap-southeast-4"];

/// One foundation model.
#[derive(Debug)]
pub struct FoundationModel {
    pub id: &'static str,
    pub name: &'static str,
    pub provider: &'static str,
    pub input_modalities: &'static [&'static str],
    pub output_modalities: &'static [&'static str],
    pub streaming: bool,
    pub customizations: &'static [&'static str],
    /// Regions where the model takes on-demand calls by its own ID.
    pub on_demand_regions: &'static [&'static str],
    pub lifecycle: &'static str,
}

/// One system-defined inference profile family (same ID in every source region).
#[derive(Debug)]
pub struct SystemProfile {
    pub id: &'static str,
    pub model_id: &'static str,
    pub name: &'static str,
    pub model_display: &'static str,
    /// Regions requests may be routed to; `global.` profiles use [`GLOBAL_DESTINATIONS`].
    pub destinations: &'static [&'static str],
    pub global: bool,
    pub created_at: &'static str,
}

pub const FOUNDATION_MODELS: &[FoundationModel] = &[
    FoundationModel {
        id: "anthropic.claude-3-haiku-20240307-v1:0",
        name: "Claude 3 Haiku",
        provider: "Anthropic",
        input_modalities: &["TEXT", "IMAGE"],
        output_modalities: &["TEXT"],
        streaming: true,
        customizations: &[],
        on_demand_regions: &[
            "us-east-1",
            "us-west-2",
            "eu-central-1",
            "eu-west-1",
            "ap-northeast-1",
            "ap-southeast-2",
        ],
        lifecycle: "ACTIVE",
    },
    FoundationModel {
        id: "anthropic.claude-3-5-haiku-20241022-v1:0",
        name: "Claude 3.5 Haiku",
        provider: "Anthropic",
        input_modalities: &["TEXT"],
        output_modalities: &["TEXT"],
        streaming: true,
        customizations: &[],
        on_demand_regions: &["us-west-2"],
        lifecycle: "LEGACY",
    },
    FoundationModel {
        id: "anthropic.claude-3-7-sonnet-20250219-v1:0",
        name: "Claude 3.7 Sonnet",
        provider: "Anthropic",
        input_modalities: &["TEXT", "IMAGE"],
        output_modalities: &["TEXT"],
        streaming: true,
        customizations: &[],
        on_demand_regions: &[],
        lifecycle: "LEGACY",
    },
    FoundationModel {
        id: "anthropic.claude-sonnet-4-5-20250929-v1:0",
        name: "Claude Sonnet 4.5",
        provider: "Anthropic",
        input_modalities: &["TEXT", "IMAGE"],
        output_modalities: &["TEXT"],
        streaming: true,
        customizations: &[],
        on_demand_regions: &[],
        lifecycle: "LEGACY",
    },
    FoundationModel {
        id: "anthropic.claude-opus-4-5-20251101-v1:0",
        name: "Claude Opus 4.5",
        provider: "Anthropic",
        input_modalities: &["TEXT", "IMAGE"],
        output_modalities: &["TEXT"],
        streaming: true,
        customizations: &[],
        on_demand_regions: &[],
        lifecycle: "ACTIVE",
    },
    FoundationModel {
        id: "anthropic.claude-haiku-4-5-20251001-v1:0",
        name: "Claude Haiku 4.5",
        provider: "Anthropic",
        input_modalities: &["TEXT", "IMAGE"],
        output_modalities: &["TEXT"],
        streaming: true,
        customizations: &[],
        on_demand_regions: &[],
        lifecycle: "ACTIVE",
    },
    FoundationModel {
        id: "anthropic.claude-sonnet-4-6",
        name: "Claude Sonnet 4.6",
        provider: "Anthropic",
        input_modalities: &["TEXT", "IMAGE"],
        output_modalities: &["TEXT"],
        streaming: true,
        customizations: &[],
        on_demand_regions: &[],
        lifecycle: "ACTIVE",
    },
    FoundationModel {
        id: "anthropic.claude-opus-4-6-v1",
        name: "Claude Opus 4.6",
        provider: "Anthropic",
        input_modalities: &["TEXT", "IMAGE"],
        output_modalities: &["TEXT"],
        streaming: true,
        customizations: &[],
        on_demand_regions: &[],
        lifecycle: "ACTIVE",
    },
    FoundationModel {
        id: "anthropic.claude-sonnet-5",
        name: "Claude Sonnet 5",
        provider: "Anthropic",
        input_modalities: &["TEXT", "IMAGE"],
        output_modalities: &["TEXT"],
        streaming: true,
        customizations: &[],
        on_demand_regions: &[],
        lifecycle: "ACTIVE",
    },
    FoundationModel {
        id: "anthropic.claude-haiku-5-5",
        name: "Claude Haiku 5.5",
        provider: "Anthropic",
        input_modalities: &["TEXT", "IMAGE"],
        output_modalities: &["TEXT"],
        streaming: true,
        customizations: &[],
        on_demand_regions: &[],
        lifecycle: "ACTIVE",
    },
    FoundationModel {
        id: "anthropic.claude-opus-5-5",
        name: "Claude Opus 5.5",
        provider: "Anthropic",
        input_modalities: &["TEXT", "IMAGE"],
        output_modalities: &["TEXT"],
        streaming: true,
        customizations: &[],
        on_demand_regions: &[],
        lifecycle: "ACTIVE",
    },
    FoundationModel {
        id: "amazon.nova-2-lite-v1:0",
        name: "Nova 2 Lite",
        provider: "Amazon",
        input_modalities: &["TEXT", "IMAGE", "VIDEO"],
        output_modalities: &["TEXT"],
        streaming: true,
        customizations: &[],
        on_demand_regions: &[],
        lifecycle: "ACTIVE",
    },
    FoundationModel {
        id: "amazon.titan-embed-text-v2:0",
        name: "Titan Text Embeddings V2",
        provider: "Amazon",
        input_modalities: &["TEXT"],
        output_modalities: &["EMBEDDING"],
        streaming: false,
        customizations: &[],
        on_demand_regions: &[
            "us-east-1",
            "us-east-2",
            "us-west-2",
            "eu-central-1",
            "eu-west-1",
            "ap-northeast-1",
            "ap-southeast-2",
        ],
        lifecycle: "ACTIVE",
    },
    FoundationModel {
        id: "cohere.embed-english-v3",
        name: "Embed English",
        provider: "Cohere",
        input_modalities: &["TEXT"],
        output_modalities: &["EMBEDDING"],
        streaming: false,
        customizations: &[],
        on_demand_regions: &[
            "us-east-1",
            "us-west-2",
            "eu-central-1",
            "eu-west-1",
            "ap-northeast-1",
            "ap-southeast-2",
        ],
        lifecycle: "ACTIVE",
    },
    FoundationModel {
        id: "cohere.embed-multilingual-v3",
        name: "Embed Multilingual",
        provider: "Cohere",
        input_modalities: &["TEXT"],
        output_modalities: &["EMBEDDING"],
        streaming: false,
        customizations: &[],
        on_demand_regions: &[
            "us-east-1",
            "us-west-2",
            "eu-central-1",
            "eu-west-1",
            "ap-northeast-1",
            "ap-southeast-2",
        ],
        lifecycle: "ACTIVE",
    },
    FoundationModel {
        id: "cohere.embed-v4:0",
        name: "Embed v4",
        provider: "Cohere",
        input_modalities: &["TEXT", "IMAGE"],
        output_modalities: &["EMBEDDING"],
        streaming: false,
        customizations: &[],
        on_demand_regions: &["us-east-1", "us-west-2", "eu-west-1"],
        lifecycle: "ACTIVE",
    },
    FoundationModel {
        id: "amazon.nova-2-multimodal-embeddings-v1:0",
        name: "Nova Multimodal Embeddings",
        provider: "Amazon",
        input_modalities: &["TEXT", "IMAGE", "AUDIO", "VIDEO"],
        output_modalities: &["EMBEDDING"],
        streaming: false,
        customizations: &[],
        on_demand_regions: &["us-east-1"],
        lifecycle: "ACTIVE",
    },
    FoundationModel {
        id: "amazon.nova-pro-v1:0",
        name: "Nova Pro",
        provider: "Amazon",
        input_modalities: &["TEXT", "IMAGE"],
        output_modalities: &["TEXT"],
        streaming: true,
        customizations: &["FINE_TUNING", "DISTILLATION"],
        on_demand_regions: &[
            "us-east-1",
            "us-west-2",
            "eu-central-1",
            "eu-west-1",
            "ap-northeast-1",
            "ap-southeast-2",
        ],
        lifecycle: "ACTIVE",
    },
    FoundationModel {
        id: "meta.llama3-3-70b-instruct-v1:0",
        name: "Llama 3.3 70B Instruct",
        provider: "Meta",
        input_modalities: &["TEXT"],
        output_modalities: &["TEXT"],
        streaming: true,
        customizations: &[],
        on_demand_regions: &[],
        lifecycle: "ACTIVE",
    },
    FoundationModel {
        id: "meta.llama4-maverick-17b-instruct-v1:0",
        name: "Llama 4 Maverick 17B Instruct",
        provider: "Meta",
        input_modalities: &["TEXT", "IMAGE"],
        output_modalities: &["TEXT"],
        streaming: true,
        customizations: &[],
        on_demand_regions: &[],
        lifecycle: "ACTIVE",
    },
];

macro_rules! profile {
    ($id:literal, $model:literal, $name:literal, $display:literal, $dest:expr, $global:literal, $at:literal) => {
        SystemProfile {
            id: $id,
            model_id: $model,
            name: $name,
            model_display: $display,
            destinations: $dest,
            global: $global,
            created_at: $at,
        }
    };
}

pub const SYSTEM_PROFILES: &[SystemProfile] = &[
    profile!(
        "us.anthropic.claude-3-haiku-20240307-v1:0",
        "anthropic.claude-3-haiku-20240307-v1:0",
        "US Anthropic Claude 3 Haiku",
        "Anthropic Claude 3 Haiku",
        US3,
        false,
        "2024-08-27T00:00:00Z"
    ),
    profile!(
        "eu.anthropic.claude-3-haiku-20240307-v1:0",
        "anthropic.claude-3-haiku-20240307-v1:0",
        "EU Anthropic Claude 3 Haiku",
        "Anthropic Claude 3 Haiku",
        EU3,
        false,
        "2024-08-27T00:00:00Z"
    ),
    profile!(
        "apac.anthropic.claude-3-haiku-20240307-v1:0",
        "anthropic.claude-3-haiku-20240307-v1:0",
        "APAC Anthropic Claude 3 Haiku",
        "Anthropic Claude 3 Haiku",
        APAC,
        false,
        "2024-10-28T00:00:00Z"
    ),
    profile!(
        "us.anthropic.claude-3-5-haiku-20241022-v1:0",
        "anthropic.claude-3-5-haiku-20241022-v1:0",
        "US Anthropic Claude 3.5 Haiku",
        "Anthropic Claude 3.5 Haiku",
        US3,
        false,
        "2024-11-04T00:00:00Z"
    ),
    profile!(
        "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
        "anthropic.claude-3-7-sonnet-20250219-v1:0",
        "US Anthropic Claude 3.7 Sonnet",
        "Anthropic Claude 3.7 Sonnet",
        US3,
        false,
        "2025-02-24T00:00:00Z"
    ),
    profile!(
        "eu.anthropic.claude-3-7-sonnet-20250219-v1:0",
        "anthropic.claude-3-7-sonnet-20250219-v1:0",
        "EU Anthropic Claude 3.7 Sonnet",
        "Anthropic Claude 3.7 Sonnet",
        EU4,
        false,
        "2025-02-24T00:00:00Z"
    ),
    profile!(
        "apac.anthropic.claude-3-7-sonnet-20250219-v1:0",
        "anthropic.claude-3-7-sonnet-20250219-v1:0",
        "APAC Anthropic Claude 3.7 Sonnet",
        "Anthropic Claude 3.7 Sonnet",
        APAC,
        false,
        "2025-02-24T00:00:00Z"
    ),
    profile!(
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "anthropic.claude-sonnet-4-5-20250929-v1:0",
        "US Anthropic Claude Sonnet 4.5",
        "Anthropic Claude Sonnet 4.5",
        US4,
        false,
        "2025-09-29T00:00:00Z"
    ),
    profile!(
        "eu.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "anthropic.claude-sonnet-4-5-20250929-v1:0",
        "EU Anthropic Claude Sonnet 4.5",
        "Anthropic Claude Sonnet 4.5",
        EU4,
        false,
        "2025-09-29T00:00:00Z"
    ),
    profile!(
        "jp.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "anthropic.claude-sonnet-4-5-20250929-v1:0",
        "JP Anthropic Claude Sonnet 4.5",
        "Anthropic Claude Sonnet 4.5",
        JP,
        false,
        "2025-09-29T00:00:00Z"
    ),
    profile!(
        "au.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "anthropic.claude-sonnet-4-5-20250929-v1:0",
        "AU Anthropic Claude Sonnet 4.5",
        "Anthropic Claude Sonnet 4.5",
        AU,
        false,
        "2025-09-29T00:00:00Z"
    ),
    profile!(
        "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "anthropic.claude-sonnet-4-5-20250929-v1:0",
        "Global Anthropic Claude Sonnet 4.5",
        "Anthropic Claude Sonnet 4.5",
        GLOBAL_DESTINATIONS,
        true,
        "2025-09-29T00:00:00Z"
    ),
    profile!(
        "us.anthropic.claude-opus-4-5-20251101-v1:0",
        "anthropic.claude-opus-4-5-20251101-v1:0",
        "US Anthropic Claude Opus 4.5",
        "Anthropic Claude Opus 4.5",
        US4,
        false,
        "2025-11-24T00:00:00Z"
    ),
    profile!(
        "eu.anthropic.claude-opus-4-5-20251101-v1:0",
        "anthropic.claude-opus-4-5-20251101-v1:0",
        "EU Anthropic Claude Opus 4.5",
        "Anthropic Claude Opus 4.5",
        EU4,
        false,
        "2025-11-24T00:00:00Z"
    ),
    profile!(
        "global.anthropic.claude-opus-4-5-20251101-v1:0",
        "anthropic.claude-opus-4-5-20251101-v1:0",
        "Global Anthropic Claude Opus 4.5",
        "Anthropic Claude Opus 4.5",
        GLOBAL_DESTINATIONS,
        true,
        "2025-11-24T00:00:00Z"
    ),
    profile!(
        "us.amazon.nova-pro-v1:0",
        "amazon.nova-pro-v1:0",
        "US Nova Pro",
        "Nova Pro",
        US3,
        false,
        "2024-12-03T00:00:00Z"
    ),
    profile!(
        "eu.amazon.nova-pro-v1:0",
        "amazon.nova-pro-v1:0",
        "EU Nova Pro",
        "Nova Pro",
        EU4,
        false,
        "2024-12-03T00:00:00Z"
    ),
    profile!(
        "apac.amazon.nova-pro-v1:0",
        "amazon.nova-pro-v1:0",
        "APAC Nova Pro",
        "Nova Pro",
        APAC,
        false,
        "2024-12-03T00:00:00Z"
    ),
    profile!(
        "us.meta.llama3-3-70b-instruct-v1:0",
        "meta.llama3-3-70b-instruct-v1:0",
        "US Meta Llama 3.3 70B Instruct",
        "Meta Llama 3.3 70B Instruct",
        US3,
        false,
        "2024-12-19T00:00:00Z"
    ),
    profile!(
        "us.anthropic.claude-haiku-4-5-20251001-v1:0",
        "anthropic.claude-haiku-4-5-20251001-v1:0",
        "US Anthropic Claude Haiku 4.5",
        "Anthropic Claude Haiku 4.5",
        US4,
        false,
        "2025-10-15T00:00:00Z"
    ),
    profile!(
        "eu.anthropic.claude-haiku-4-5-20251001-v1:0",
        "anthropic.claude-haiku-4-5-20251001-v1:0",
        "EU Anthropic Claude Haiku 4.5",
        "Anthropic Claude Haiku 4.5",
        EU4,
        false,
        "2025-10-15T00:00:00Z"
    ),
    profile!(
        "jp.anthropic.claude-haiku-4-5-20251001-v1:0",
        "anthropic.claude-haiku-4-5-20251001-v1:0",
        "JP Anthropic Claude Haiku 4.5",
        "Anthropic Claude Haiku 4.5",
        JP,
        false,
        "2025-10-15T00:00:00Z"
    ),
    profile!(
        "au.anthropic.claude-haiku-4-5-20251001-v1:0",
        "anthropic.claude-haiku-4-5-20251001-v1:0",
        "AU Anthropic Claude Haiku 4.5",
        "Anthropic Claude Haiku 4.5",
        AU,
        false,
        "2025-10-15T00:00:00Z"
    ),
    profile!(
        "global.anthropic.claude-haiku-4-5-20251001-v1:0",
        "anthropic.claude-haiku-4-5-20251001-v1:0",
        "Global Anthropic Claude Haiku 4.5",
        "Anthropic Claude Haiku 4.5",
        GLOBAL_DESTINATIONS,
        true,
        "2025-10-15T00:00:00Z"
    ),
    profile!(
        "us.anthropic.claude-sonnet-4-6",
        "anthropic.claude-sonnet-4-6",
        "US Anthropic Claude Sonnet 4.6",
        "Anthropic Claude Sonnet 4.6",
        US4,
        false,
        "2026-02-17T00:00:00Z"
    ),
    profile!(
        "eu.anthropic.claude-sonnet-4-6",
        "anthropic.claude-sonnet-4-6",
        "EU Anthropic Claude Sonnet 4.6",
        "Anthropic Claude Sonnet 4.6",
        EU4,
        false,
        "2026-02-17T00:00:00Z"
    ),
    profile!(
        "jp.anthropic.claude-sonnet-4-6",
        "anthropic.claude-sonnet-4-6",
        "JP Anthropic Claude Sonnet 4.6",
        "Anthropic Claude Sonnet 4.6",
        JP,
        false,
        "2026-02-17T00:00:00Z"
    ),
    profile!(
        "global.anthropic.claude-sonnet-4-6",
        "anthropic.claude-sonnet-4-6",
        "Global Anthropic Claude Sonnet 4.6",
        "Anthropic Claude Sonnet 4.6",
        GLOBAL_DESTINATIONS,
        true,
        "2026-02-17T00:00:00Z"
    ),
    profile!(
        "us.anthropic.claude-opus-4-6-v1",
        "anthropic.claude-opus-4-6-v1",
        "US Anthropic Claude Opus 4.6",
        "Anthropic Claude Opus 4.6",
        US4,
        false,
        "2026-02-05T00:00:00Z"
    ),
    profile!(
        "eu.anthropic.claude-opus-4-6-v1",
        "anthropic.claude-opus-4-6-v1",
        "EU Anthropic Claude Opus 4.6",
        "Anthropic Claude Opus 4.6",
        EU4,
        false,
        "2026-02-05T00:00:00Z"
    ),
    profile!(
        "jp.anthropic.claude-opus-4-6-v1",
        "anthropic.claude-opus-4-6-v1",
        "JP Anthropic Claude Opus 4.6",
        "Anthropic Claude Opus 4.6",
        JP,
        false,
        "2026-02-05T00:00:00Z"
    ),
    profile!(
        "apac.anthropic.claude-opus-4-6-v1",
        "anthropic.claude-opus-4-6-v1",
        "APAC Anthropic Claude Opus 4.6",
        "Anthropic Claude Opus 4.6",
        APAC,
        false,
        "2026-02-05T00:00:00Z"
    ),
    profile!(
        "global.anthropic.claude-opus-4-6-v1",
        "anthropic.claude-opus-4-6-v1",
        "Global Anthropic Claude Opus 4.6",
        "Anthropic Claude Opus 4.6",
        GLOBAL_DESTINATIONS,
        true,
        "2026-02-05T00:00:00Z"
    ),
    profile!(
        "us.anthropic.claude-sonnet-5",
        "anthropic.claude-sonnet-5",
        "US Anthropic Claude Sonnet 5",
        "Anthropic Claude Sonnet 5",
        US4,
        false,
        "2026-06-30T00:00:00Z"
    ),
    profile!(
        "eu.anthropic.claude-sonnet-5",
        "anthropic.claude-sonnet-5",
        "EU Anthropic Claude Sonnet 5",
        "Anthropic Claude Sonnet 5",
        EU4,
        false,
        "2026-06-30T00:00:00Z"
    ),
    profile!(
        "global.anthropic.claude-sonnet-5",
        "anthropic.claude-sonnet-5",
        "Global Anthropic Claude Sonnet 5",
        "Anthropic Claude Sonnet 5",
        GLOBAL_DESTINATIONS,
        true,
        "2026-06-30T00:00:00Z"
    ),
    profile!(
        "us.anthropic.claude-haiku-5-5",
        "anthropic.claude-haiku-5-5",
        "US Anthropic Claude Haiku 5.5",
        "Anthropic Claude Haiku 5.5",
        US4,
        false,
        "2026-10-07T00:00:00Z"
    ),
    profile!(
        "eu.anthropic.claude-haiku-5-5",
        "anthropic.claude-haiku-5-5",
        "EU Anthropic Claude Haiku 5.5",
        "Anthropic Claude Haiku 5.5",
        EU4,
        false,
        "2026-10-07T00:00:00Z"
    ),
    profile!(
        "global.anthropic.claude-haiku-5-5",
        "anthropic.claude-haiku-5-5",
        "Global Anthropic Claude Haiku 5.5",
        "Anthropic Claude Haiku 5.5",
        GLOBAL_DESTINATIONS,
        true,
        "2026-10-07T00:00:00Z"
    ),
    profile!(
        "us.anthropic.claude-opus-5-5",
        "anthropic.claude-opus-5-5",
        "US Anthropic Claude Opus 5.5",
        "Anthropic Claude Opus 5.5",
        US4,
        false,
        "2026-11-24T00:00:00Z"
    ),
    profile!(
        "eu.anthropic.claude-opus-5-5",
        "anthropic.claude-opus-5-5",
        "EU Anthropic Claude Opus 5.5",
        "Anthropic Claude Opus 5.5",
        EU4,
        false,
        "2026-11-24T00:00:00Z"
    ),
    profile!(
        "global.anthropic.claude-opus-5-5",
        "anthropic.claude-opus-5-5",
        "Global Anthropic Claude Opus 5.5",
        "Anthropic Claude Opus 5.5",
        GLOBAL_DESTINATIONS,
        true,
        "2026-11-24T00:00:00Z"
    ),
    profile!(
        "us.amazon.nova-2-lite-v1:0",
        "amazon.nova-2-lite-v1:0",
        "US Nova 2 Lite",
        "Nova 2 Lite",
        US3,
        false,
        "2025-12-02T00:00:00Z"
    ),
    profile!(
        "eu.amazon.nova-2-lite-v1:0",
        "amazon.nova-2-lite-v1:0",
        "EU Nova 2 Lite",
        "Nova 2 Lite",
        EU4,
        false,
        "2025-12-02T00:00:00Z"
    ),
    profile!(
        "global.amazon.nova-2-lite-v1:0",
        "amazon.nova-2-lite-v1:0",
        "Global Nova 2 Lite",
        "Nova 2 Lite",
        GLOBAL_DESTINATIONS,
        true,
        "2025-12-02T00:00:00Z"
    ),
    profile!(
        "us.meta.llama4-maverick-17b-instruct-v1:0",
        "meta.llama4-maverick-17b-instruct-v1:0",
        "US Meta Llama 4 Maverick 17B Instruct",
        "Meta Llama 4 Maverick 17B Instruct",
        US3,
        false,
        "2025-04-29T00:00:00Z"
    ),
];

impl SystemProfile {
    /// Whether the profile can be called from `region` (its source regions).
    pub fn offered_in(&self, region: &str) -> bool {
        self.global && SEEDED_REGIONS.contains(&region) || self.destinations.contains(&region)
    }

    /// The regions a call from `region` may be served in.
    pub fn inference_regions(&self, region: &str) -> Vec<String> {
        if self.global {
            global_inference_regions(region)
        } else {
            self.destinations.iter().map(|r| r.to_string()).collect()
        }
    }

    /// The `models` member: one foundation-model ARN per destination. A global profile lists
    /// the source region's ARN and the region-less ARN Bedrock uses for "any commercial region".
    pub fn model_arns(&self, region: &str) -> Vec<String> {
        if self.global {
            vec![
                arn::foundation_model_arn(region, self.model_id),
                format!("arn:aws:bedrock:::foundation-model/{}", self.model_id),
            ]
        } else {
            self.destinations
                .iter()
                .map(|r| arn::foundation_model_arn(r, self.model_id))
                .collect()
        }
    }

    pub fn description(&self) -> String {
        if self.global {
            format!(
                "Routes requests to {} globally across all supported AWS Regions.",
                self.model_display
            )
        } else {
            let regions = self.destinations;
            let list = match regions.split_last() {
                Some((last, rest)) if !rest.is_empty() => {
                    format!("{} and {last}", rest.join(", "))
                }
                _ => regions.join(""),
            };
            format!("Routes requests to {} in {list}.", self.model_display)
        }
    }

    /// The wire summary (`InferenceProfileSummary` / GetInferenceProfile output).
    pub fn to_wire(&self, region: &str, account: &str) -> Value {
        let models: Vec<Value> = self
            .model_arns(region)
            .into_iter()
            .map(|a| json!({ "modelArn": a }))
            .collect();
        json!({
            "inferenceProfileName": self.name,
            "description": self.description(),
            "createdAt": self.created_at,
            "updatedAt": self.created_at,
            "inferenceProfileArn": arn::system_profile_arn(region, account, self.id),
            "models": models,
            "inferenceProfileId": self.id,
            "status": "ACTIVE",
            "type": "SYSTEM_DEFINED",
        })
    }
}

/// Where a global profile called from `region` may run: the source region first, then the
/// other commercial regions.
pub fn global_inference_regions(region: &str) -> Vec<String> {
    let mut regions = vec![region.to_string()];
    regions.extend(
        GLOBAL_DESTINATIONS
            .iter()
            .filter(|r| **r != region)
            .map(|r| r.to_string()),
    );
    regions
}

/// The system profile `id` as offered in `region`.
pub fn system_profile(region: &str, id: &str) -> Option<&'static SystemProfile> {
    SYSTEM_PROFILES
        .iter()
        .find(|p| p.id == id && p.offered_in(region))
}

/// The system profiles offered in `region`, in catalog order.
pub fn system_profiles_in(region: &str) -> impl Iterator<Item = &'static SystemProfile> {
    SYSTEM_PROFILES.iter().filter(move |p| p.offered_in(region))
}

pub fn foundation_model(id: &str) -> Option<&'static FoundationModel> {
    FOUNDATION_MODELS.iter().find(|m| m.id == id)
}

/// A model is listed in a region when it takes on-demand calls there or a profile offered
/// there routes to it.
pub fn model_listed_in(model: &FoundationModel, region: &str) -> bool {
    model.on_demand_regions.contains(&region)
        || system_profiles_in(region).any(|p| p.model_id == model.id)
}

pub fn foundation_models_in(region: &str) -> impl Iterator<Item = &'static FoundationModel> {
    FOUNDATION_MODELS
        .iter()
        .filter(move |m| model_listed_in(m, region))
}

impl FoundationModel {
    /// `inferenceTypesSupported` in `region`: `ON_DEMAND` where callable by ID, and
    /// `INFERENCE_PROFILE` (which the service reports beyond the model's enum) where a profile
    /// reaches it; newer Claude models are therefore profile-only.
    pub fn inference_types(&self, region: &str) -> Vec<&'static str> {
        let mut types = Vec::new();
        if self.on_demand_regions.contains(&region) {
            types.push("ON_DEMAND");
        }
        if system_profiles_in(region).any(|p| p.model_id == self.id) {
            types.push("INFERENCE_PROFILE");
        }
        types
    }

    pub fn to_wire(&self, region: &str) -> Value {
        json!({
            "modelArn": arn::foundation_model_arn(region, self.id),
            "modelId": self.id,
            "modelName": self.name,
            "providerName": self.provider,
            "inputModalities": self.input_modalities,
            "outputModalities": self.output_modalities,
            "responseStreamingSupported": self.streaming,
            "customizationsSupported": self.customizations,
            "inferenceTypesSupported": self.inference_types(region),
            "modelLifecycle": { "status": self.lifecycle },
        })
    }
}

/// The foundation model behind a model ID given to GetFoundationModelAvailability: the ID
/// itself, or the model of a system profile ID (`us.…`, `global.…`).
pub fn availability_model(region: &str, id: &str) -> Option<&'static FoundationModel> {
    if let Some(model) = foundation_model(id).filter(|m| model_listed_in(m, region)) {
        return Some(model);
    }
    system_profile(region, id).and_then(|p| foundation_model(p.model_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_profile_names_a_catalogued_model() {
        for profile in SYSTEM_PROFILES {
            assert!(
                foundation_model(profile.model_id).is_some(),
                "{}",
                profile.id
            );
            assert!(profile.model_arns("us-east-1").len() <= 5, "{}", profile.id);
            assert!(profile.id.ends_with(profile.model_id), "{}", profile.id);
        }
    }

    #[test]
    fn the_main_us_regions_offer_every_required_profile() {
        for region in ["us-east-1", "us-east-2", "us-west-2"] {
            for id in [
                "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
                "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
                "global.anthropic.claude-opus-4-5-20251101-v1:0",
                "us.amazon.nova-pro-v1:0",
                "us.anthropic.claude-3-5-haiku-20241022-v1:0",
                "us.meta.llama3-3-70b-instruct-v1:0",
            ] {
                assert!(system_profile(region, id).is_some(), "{id} in {region}");
            }
        }
        assert!(system_profile("eu-west-1", "us.amazon.nova-pro-v1:0").is_none());
        assert!(system_profile("eu-west-1", "eu.amazon.nova-pro-v1:0").is_some());
    }

    #[test]
    fn newer_claude_is_profile_only_while_nova_pro_is_also_on_demand() {
        let sonnet = foundation_model("anthropic.claude-sonnet-4-5-20250929-v1:0").unwrap();
        assert_eq!(
            sonnet.inference_types("us-east-1"),
            vec!["INFERENCE_PROFILE"]
        );
        let nova = foundation_model("amazon.nova-pro-v1:0").unwrap();
        assert_eq!(
            nova.inference_types("us-east-1"),
            vec!["ON_DEMAND", "INFERENCE_PROFILE"]
        );
    }

    #[test]
    fn todays_models_are_served_and_retired_ones_still_resolve() {
        for id in [
            "us.anthropic.claude-opus-5-5",
            "global.anthropic.claude-opus-5-5",
            "us.anthropic.claude-haiku-4-5-20251001-v1:0",
            "global.anthropic.claude-sonnet-4-6",
            "us.anthropic.claude-sonnet-5",
            "us.anthropic.claude-haiku-5-5",
            "us.amazon.nova-2-lite-v1:0",
            "us.meta.llama4-maverick-17b-instruct-v1:0",
        ] {
            assert!(system_profile("us-east-1", id).is_some(), "{id}");
        }
        let retired = foundation_model("anthropic.claude-sonnet-4-5-20250929-v1:0").unwrap();
        assert_eq!(retired.lifecycle, "LEGACY");
        assert!(model_listed_in(retired, "us-east-1"));
        let embed = foundation_model("amazon.titan-embed-text-v2:0").unwrap();
        assert_eq!(embed.output_modalities, ["EMBEDDING"]);
        assert_eq!(embed.inference_types("us-east-1"), vec!["ON_DEMAND"]);
    }

    #[test]
    fn a_system_profile_id_stands_for_its_model_in_availability() {
        let model = availability_model("us-east-1", "us.anthropic.claude-sonnet-4-5-20250929-v1:0");
        assert_eq!(
            model.unwrap().id,
            "anthropic.claude-sonnet-4-5-20250929-v1:0"
        );
    }
}
