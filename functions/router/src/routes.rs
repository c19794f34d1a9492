//! The route table: which path and method is which route, in which dialect, and under which
//! metrics name. A new front door is one variant here and one arm in the handler's dispatch.

use http::Method;
use percent_encoding::percent_decode_str;

use crate::dialect::Dialect;
use crate::error::RouterError;
use crate::metrics::RouteName;

/// A matched route; path labels are still percent-encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route<'a> {
    Health,
    Models,
    Model(&'a str),
    ChatCompletions,
    Embeddings,
    Messages,
    MessagesCountTokens,
    Converse(&'a str),
    ConverseStream(&'a str),
    Invoke(&'a str),
    InvokeStream(&'a str),
    CountTokens(&'a str),
    InferenceProfiles,
    InferenceProfile(&'a str),
}

/// Every route, for the "no route" answer.
pub const ROUTE_LIST: &str = "POST /v1/chat/completions, POST /v1/embeddings, GET /v1/models, POST /v1/messages, POST /v1/messages/count_tokens, POST /model/{modelId}/converse, POST /model/{modelId}/converse-stream, POST /model/{modelId}/invoke, POST /model/{modelId}/invoke-with-response-stream, POST /model/{modelId}/count-tokens, GET /inference-profiles, GET /inference-profiles/{id}, GET /health";

impl Route<'_> {
    /// The error and stream dialect the route speaks.
    pub fn dialect(self) -> Dialect {
        match self {
            Self::Converse(_)
            | Self::ConverseStream(_)
            | Self::Invoke(_)
            | Self::InvokeStream(_)
            | Self::CountTokens(_)
            | Self::InferenceProfiles
            | Self::InferenceProfile(_) => Dialect::Bedrock,
            Self::Messages | Self::MessagesCountTokens => Dialect::Anthropic,
            Self::Health
            | Self::Models
            | Self::Model(_)
            | Self::ChatCompletions
            | Self::Embeddings => Dialect::OpenAi,
        }
    }

    /// The metrics dimension value.
    pub fn name(self) -> RouteName {
        match self {
            Self::Health => RouteName::Health,
            Self::Models | Self::Model(_) | Self::InferenceProfiles | Self::InferenceProfile(_) => {
                RouteName::Models
            }
            Self::ChatCompletions => RouteName::ChatCompletions,
            Self::Embeddings => RouteName::Embeddings,
            Self::Messages => RouteName::Messages,
            Self::MessagesCountTokens => RouteName::CountTokens,
            Self::Converse(_) => RouteName::Converse,
            Self::ConverseStream(_) => RouteName::ConverseStream,
            Self::Invoke(_) => RouteName::Invoke,
            Self::InvokeStream(_) => RouteName::InvokeStream,
            Self::CountTokens(_) => RouteName::CountTokens,
        }
    }

    /// The one method the route answers, as named in an `Allow` header.
    pub fn method(self) -> (Method, &'static str) {
        match self {
            Self::Health
            | Self::Models
            | Self::Model(_)
            | Self::InferenceProfiles
            | Self::InferenceProfile(_) => (Method::GET, "GET"),
            Self::ChatCompletions
            | Self::Embeddings
            | Self::Messages
            | Self::MessagesCountTokens
            | Self::Converse(_)
            | Self::ConverseStream(_)
            | Self::Invoke(_)
            | Self::InvokeStream(_)
            | Self::CountTokens(_) => (Method::POST, "POST"),
        }
    }

    /// Whether the caller must be authenticated (everything but the health check).
    pub fn needs_tenant(self) -> bool {
        !matches!(self, Self::Health)
    }
}

/// Strips the `/lambda-url/<function>` prefix that local emulators of Function URLs may leave in.
pub fn normalise_path(path: &str) -> &str {
    if let Some(rest) = path.strip_prefix("/lambda-url/") {
        return rest.find('/').map_or("/", |i| &rest[i..]);
    }
    path
}

/// The route for a (normalised) path, if any.
pub fn match_route(path: &str) -> Option<Route<'_>> {
    let trimmed = path.trim_end_matches('/');
    match trimmed {
        "/health" => return Some(Route::Health),
        "/v1/models" => return Some(Route::Models),
        "/v1/chat/completions" => return Some(Route::ChatCompletions),
        "/v1/embeddings" => return Some(Route::Embeddings),
        "/v1/messages" => return Some(Route::Messages),
        "/v1/messages/count_tokens" => return Some(Route::MessagesCountTokens),
        "/inference-profiles" => return Some(Route::InferenceProfiles),
        _ => {}
    }
    if let Some(id) = trimmed.strip_prefix("/v1/models/") {
        return label(id).map(Route::Model);
    }
    if let Some(id) = trimmed.strip_prefix("/inference-profiles/") {
        return label(id).map(Route::InferenceProfile);
    }
    let rest = trimmed.strip_prefix("/model/")?;
    if let Some(id) = rest.strip_suffix("/invoke-with-response-stream") {
        return label(id).map(Route::InvokeStream);
    }
    if let Some(id) = rest.strip_suffix("/invoke") {
        return label(id).map(Route::Invoke);
    }
    if let Some(id) = rest.strip_suffix("/count-tokens") {
        return label(id).map(Route::CountTokens);
    }
    if let Some(id) = rest.strip_suffix("/converse-stream") {
        return label(id).map(Route::ConverseStream);
    }
    if let Some(id) = rest.strip_suffix("/converse") {
        return label(id).map(Route::Converse);
    }
    None
}

/// One path label: non-empty and without a raw `/` (an ARN's `/` arrives as `%2F`).
fn label(id: &str) -> Option<&str> {
    (!id.is_empty() && !id.contains('/')).then_some(id)
}

/// A percent-decoded path label (a model ID or an ARN).
pub fn decode_label(raw: &str) -> Result<String, RouterError> {
    percent_decode_str(raw)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| {
            RouterError::invalid(
                "modelId",
                "the model ID in the path is not valid percent-encoded UTF-8",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_routes_take_one_encoded_label() {
        let arn =
            "arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Aapplication-inference-profile%2Fabc";
        assert_eq!(
            match_route(&format!("/model/{arn}/converse")),
            Some(Route::Converse(arn))
        );
        assert_eq!(match_route("/model/a/b/converse"), None);
        assert_eq!(match_route("/model//converse"), None);
        assert_eq!(
            match_route("/v1/chat/completions/"),
            Some(Route::ChatCompletions)
        );
    }

    #[test]
    fn the_local_function_url_prefix_is_stripped() {
        assert_eq!(normalise_path("/lambda-url/router/v1/models"), "/v1/models");
        assert_eq!(normalise_path("/lambda-url/router"), "/");
        assert_eq!(normalise_path("/v1/models"), "/v1/models");
    }
}
