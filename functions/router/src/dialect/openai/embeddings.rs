//! `POST /v1/embeddings`: OpenAI's embeddings request turned into the embedding model's own
//! InvokeModel bodies (Titan Text Embeddings V2, Cohere Embed v3 and v4, Nova Multimodal
//! Embeddings for text), split to each
//! model's documented batch limit, sent with bounded concurrency through the tenant's profile,
//! and answered in the input's order.

use base64::Engine as _;
use bytes::Bytes;
use http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::bedrock::{Bedrock, InvokeRequest, InvokeResponse};
use crate::directory::Directory;
use crate::error::RouterError;
use crate::handler::Call;
use crate::relay::{Reply, json_reply};

/// Most InvokeModel calls one embeddings request has in flight.
pub const CONCURRENCY: usize = 4;

/// The embedding request formats the router speaks, by the foundation model underneath.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Embedder {
    /// `amazon.titan-embed-text-v2:0`: one text per call, 256, 512 or 1024 dimensions.
    TitanV2,
    /// `cohere.embed-english-v3` / `cohere.embed-multilingual-v3`: up to 96 texts, 1024
    /// dimensions, no choice.
    CohereV3,
    /// `cohere.embed-v4:0`: up to 96 texts, 256, 512, 1024 or 1536 dimensions.
    CohereV4,
    /// `amazon.nova-2-multimodal-embeddings-v1:0`: one text per call (InvokeModel's
    /// `SINGLE_EMBEDDING`), 3072, 1024, 384 or 256 dimensions.
    NovaMultimodal,
}

impl Embedder {
    /// The embedder for a foundation-model ID (or a friendly ID that spells one), if any.
    pub fn of(model: &str) -> Option<Self> {
        let m = model.to_ascii_lowercase();
        if m.contains("titan-embed-text-v2") {
            Some(Self::TitanV2)
        } else if m.contains("cohere.embed-english-v3")
            || m.contains("cohere.embed-multilingual-v3")
        {
            Some(Self::CohereV3)
        } else if m.contains("cohere.embed-v4") {
            Some(Self::CohereV4)
        } else if m.contains("nova-2-multimodal-embeddings") {
            Some(Self::NovaMultimodal)
        } else {
            None
        }
    }

    /// Texts one InvokeModel call takes.
    pub fn batch_limit(self) -> usize {
        match self {
            Self::TitanV2 | Self::NovaMultimodal => 1,
            Self::CohereV3 | Self::CohereV4 => 96,
        }
    }

    /// The vector sizes the model offers, the default first.
    pub fn dimensions(self) -> &'static [u32] {
        match self {
            Self::TitanV2 => &[1024, 512, 256],
            Self::CohereV3 => &[1024],
            Self::CohereV4 => &[1536, 1024, 512, 256],
            Self::NovaMultimodal => &[3072, 1024, 384, 256],
        }
    }

    /// What `/v1/models` says about a model that embeds.
    pub fn caps_json(self) -> Value {
        json!({
            "dimensions": self.dimensions(),
            "default_dimensions": self.dimensions()[0],
            "max_inputs_per_call": self.batch_limit(),
        })
    }

    /// The InvokeModel body for one batch.
    fn body(self, texts: &[String], dimensions: u32) -> Value {
        match self {
            Self::TitanV2 => json!({
                "inputText": texts[0],
                "dimensions": dimensions,
                "normalize": true,
                "embeddingTypes": ["float"],
            }),
            Self::CohereV3 => json!({
                "texts": texts,
                "input_type": "search_document",
                "embedding_types": ["float"],
            }),
            Self::CohereV4 => json!({
                "texts": texts,
                "input_type": "search_document",
                "embedding_types": ["float"],
                "output_dimension": dimensions,
            }),
            // Indexing, as Cohere's `search_document`: an OpenAI caller embeds documents and
            // queries alike and Nova documents GENERIC_INDEX as the general-purpose choice. A
            // text over the model's 8K tokens is refused (`NONE`), as OpenAI refuses one,
            // rather than embedded truncated without a word.
            Self::NovaMultimodal => json!({
                "schemaVersion": "nova-multimodal-embed-v1",
                "taskType": "SINGLE_EMBEDDING",
                "singleEmbeddingParams": {
                    "embeddingPurpose": "GENERIC_INDEX",
                    "embeddingDimension": dimensions,
                    "text": {"truncationMode": "NONE", "value": texts[0]},
                },
            }),
        }
    }

    /// The vectors and input tokens of one batch's answer. Cohere's and Nova's bodies carry no
    /// token count, so their texts are counted the way the router estimates tokens elsewhere.
    fn read(self, texts: &[String], body: &[u8]) -> Result<(Vec<Vec<f32>>, u64), RouterError> {
        let bad =
            |detail: &str| RouterError::Internal(format!("the embedding model's answer {detail}"));
        let value: Value = serde_json::from_slice(body).map_err(|_| bad("is not JSON"))?;
        match self {
            Self::TitanV2 => {
                let vector = value
                    .pointer("/embeddingsByType/float")
                    .or_else(|| value.get("embedding"))
                    .ok_or_else(|| bad("has no `embedding`"))?;
                let vector: Vec<f32> = serde_json::from_value(vector.clone())
                    .map_err(|_| bad("has an `embedding` that is not a list of numbers"))?;
                let tokens = value
                    .get("inputTextTokenCount")
                    .and_then(Value::as_u64)
                    .unwrap_or_else(|| estimate_tokens(texts));
                Ok((vec![vector], tokens))
            }
            Self::CohereV3 | Self::CohereV4 => {
                let vectors = value
                    .pointer("/embeddings/float")
                    .or_else(|| value.get("embeddings").filter(|v| v.is_array()))
                    .ok_or_else(|| bad("has no `embeddings.float`"))?;
                let vectors: Vec<Vec<f32>> = serde_json::from_value(vectors.clone())
                    .map_err(|_| bad("has `embeddings` that are not lists of numbers"))?;
                if vectors.len() != texts.len() {
                    return Err(bad(&format!(
                        "holds {} vectors for {} texts",
                        vectors.len(),
                        texts.len()
                    )));
                }
                Ok((vectors, estimate_tokens(texts)))
            }
            Self::NovaMultimodal => {
                let vector = value
                    .pointer("/embeddings/0/embedding")
                    .ok_or_else(|| bad("has no `embeddings[0].embedding`"))?;
                let vector: Vec<f32> = serde_json::from_value(vector.clone())
                    .map_err(|_| bad("has an `embedding` that is not a list of numbers"))?;
                Ok((vec![vector], estimate_tokens(texts)))
            }
        }
    }
}

/// About four characters a token, at least one a text: Cohere and Nova on InvokeModel report no
/// count in their bodies.
fn estimate_tokens(texts: &[String]) -> u64 {
    texts
        .iter()
        .map(|t| (t.chars().count() as u64).div_ceil(4).max(1))
        .sum()
}

/// `encoding_format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum EncodingFormat {
    #[default]
    Float,
    Base64,
}

/// OpenAI's embeddings request as the router takes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequest {
    model: String,
    input: Value,
    #[serde(default)]
    encoding_format: EncodingFormat,
    #[serde(default)]
    dimensions: Option<u32>,
    /// Accepted for compatibility; the tenant is the router's attribution.
    #[serde(default)]
    #[allow(dead_code)]
    user: Option<String>,
}

/// A checked embeddings request.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingsRequest {
    pub model: String,
    pub texts: Vec<String>,
    pub encoding_format: EncodingFormat,
    pub dimensions: Option<u32>,
}

/// Parses and checks the body, naming the field at fault.
pub fn parse_request(body: Value) -> Result<EmbeddingsRequest, RouterError> {
    let raw: RawRequest = serde_path_to_error::deserialize(body).map_err(|e| {
        let path = e.path().to_string();
        let param = if path == "." { "body".to_owned() } else { path };
        RouterError::invalid(
            param.clone(),
            format!("invalid embeddings request at `{param}`: {}", e.inner()),
        )
    })?;
    if raw.model.is_empty() {
        return Err(RouterError::invalid(
            "model",
            "`model` is required: send one of the IDs listed by GET /v1/models",
        ));
    }
    let texts = match raw.input {
        Value::String(s) => vec![s],
        Value::Array(items) if items.is_empty() => {
            return Err(RouterError::invalid(
                "input",
                "`input` must hold at least one text",
            ));
        }
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(s) => Ok(s),
                Value::Number(_) | Value::Array(_) => Err(RouterError::invalid(
                    "input",
                    "token arrays are not supported: Bedrock's embedding models take text, so send `input` as a string or a list of strings",
                )),
                other => Err(RouterError::invalid(
                    format!("input[{i}]"),
                    format!("`input[{i}]` must be a string, got {}", kind(&other)),
                )),
            })
            .collect::<Result<_, _>>()?,
        other => {
            return Err(RouterError::invalid(
                "input",
                format!(
                    "`input` must be a string or a list of strings, got {}",
                    kind(&other)
                ),
            ));
        }
    };
    if let Some(i) = texts.iter().position(|t| t.trim().is_empty()) {
        return Err(RouterError::invalid(
            format!("input[{i}]"),
            format!("`input[{i}]` is empty; Bedrock embeds only non-empty text"),
        ));
    }
    Ok(EmbeddingsRequest {
        model: raw.model,
        texts,
        encoding_format: raw.encoding_format,
        dimensions: raw.dimensions,
    })
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// The vector size to ask for: the caller's, if the model offers it, else the default.
pub fn dimensions_for(
    embedder: Embedder,
    model: &str,
    asked: Option<u32>,
) -> Result<u32, RouterError> {
    let offered = embedder.dimensions();
    match asked {
        None => Ok(offered[0]),
        Some(d) if offered.contains(&d) => Ok(d),
        Some(d) if offered.len() == 1 => Err(RouterError::invalid(
            "dimensions",
            format!(
                "`{model}` does not support `dimensions`: its vectors always have {} (asked for {d})",
                offered[0]
            ),
        )),
        Some(d) => Err(RouterError::invalid(
            "dimensions",
            format!(
                "`{model}` offers `dimensions` of {} only; got {d}",
                offered
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

/// The InvokeModel bodies for `texts`, each within the model's batch limit, in order.
pub fn batches(embedder: Embedder, texts: &[String], dimensions: u32) -> Vec<Bytes> {
    texts
        .chunks(embedder.batch_limit())
        .map(|chunk| Bytes::from(embedder.body(chunk, dimensions).to_string()))
        .collect()
}

/// One vector as OpenAI sends it: numbers, or base64 of little-endian f32s.
pub fn encode(vector: &[f32], format: EncodingFormat) -> Value {
    match format {
        EncodingFormat::Float => json!(vector),
        EncodingFormat::Base64 => {
            let bytes: Vec<u8> = vector.iter().flat_map(|v| v.to_le_bytes()).collect();
            Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
        }
    }
}

/// `POST /v1/embeddings`.
pub async fn embeddings<B: Bedrock, D: Directory>(
    call: &mut Call<'_, B, D>,
    body: &[u8],
) -> Result<Reply, RouterError> {
    let request = parse_request(call.json_body(body)?)?;
    let target = call.target(&request.model).await?;
    let base = call.base_model(&target).await?;
    let embedder = Embedder::of(&base).ok_or_else(|| {
        RouterError::invalid(
            "model",
            format!(
                "`{}` (model `{base}`) does not embed; the embedding models are Titan Text Embeddings V2, Cohere Embed v3 and v4 and Nova Multimodal Embeddings (see `capabilities.embeddings` in GET /v1/models)",
                target.friendly_id
            ),
        )
    })?;
    let dimensions = dimensions_for(embedder, &target.friendly_id, request.dimensions)?;
    let metadata = call.attribution(&target);
    let calls: Vec<InvokeRequest> = batches(embedder, &request.texts, dimensions)
        .into_iter()
        .map(|body| InvokeRequest {
            body,
            content_type: Some("application/json".into()),
            accept: Some("application/json".into()),
            request_metadata: metadata.clone(),
            ..InvokeRequest::default()
        })
        .collect();
    tracing::info!(model = %target.friendly_id, tenant = %call.tenant.name, texts = request.texts.len(), calls = calls.len(), "embeddings");
    let answers = call.invoke_all(&target, calls, CONCURRENCY).await?;
    let (data, tokens) = assemble(embedder, &request, dimensions, &answers)?;
    call.record.input_tokens = tokens;
    Ok(json_reply(
        StatusCode::OK,
        &json!({
            "object": "list",
            "data": data,
            "model": target.friendly_id,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }),
    ))
}

/// The `data` entries in input order, and the input tokens of all calls.
fn assemble(
    embedder: Embedder,
    request: &EmbeddingsRequest,
    dimensions: u32,
    answers: &[InvokeResponse],
) -> Result<(Vec<Value>, u64), RouterError> {
    let mut data = Vec::with_capacity(request.texts.len());
    let mut tokens = 0;
    for (chunk, answer) in request.texts.chunks(embedder.batch_limit()).zip(answers) {
        let (vectors, used) = embedder.read(chunk, &answer.body)?;
        tokens += used;
        for vector in vectors {
            if vector.len() != dimensions as usize {
                return Err(RouterError::Internal(format!(
                    "the embedding model answered a vector of {} dimensions, {dimensions} were asked for",
                    vector.len()
                )));
            }
            data.push(json!({
                "object": "embedding",
                "index": data.len(),
                "embedding": encode(&vector, request.encoding_format),
            }));
        }
    }
    Ok((data, tokens))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("text {i}")).collect()
    }

    #[test]
    fn input_is_a_string_or_a_list_of_strings() {
        let one = parse_request(json!({"model": "m", "input": "hi"})).unwrap();
        assert_eq!(one.texts, vec!["hi"]);
        assert_eq!(one.encoding_format, EncodingFormat::Float);
        let many =
            parse_request(json!({"model": "m", "input": ["a", "b"], "encoding_format": "base64", "dimensions": 256}))
                .unwrap();
        assert_eq!(many.texts, vec!["a", "b"]);
        assert_eq!(many.encoding_format, EncodingFormat::Base64);
        assert_eq!(many.dimensions, Some(256));
    }

    #[test]
    fn bad_input_names_the_field() {
        let param = |body: Value| match parse_request(body).unwrap_err() {
            RouterError::InvalidRequest { param, message } => (param.unwrap(), message),
            e => panic!("{e:?}"),
        };
        assert!(
            param(json!({"model": "m", "input": [1, 2]}))
                .1
                .contains("token arrays")
        );
        assert_eq!(
            param(json!({"model": "m", "input": ["a", 3.5e0, {}]})).0,
            "input"
        );
        assert_eq!(
            param(json!({"model": "m", "input": ["a", {}]})).0,
            "input[1]"
        );
        assert_eq!(
            param(json!({"model": "m", "input": ["a", " "]})).0,
            "input[1]"
        );
        assert_eq!(param(json!({"model": "m", "input": []})).0, "input");
        assert_eq!(param(json!({"model": "m", "input": 3})).0, "input");
        assert_eq!(
            param(json!({"model": "m", "input": "a", "encoding_format": "hex"})).0,
            "encoding_format"
        );
        assert_eq!(
            param(json!({"model": "m", "input": "a", "dimensions": -1})).0,
            "dimensions"
        );
        // An unknown field is named, as the chat route names one.
        assert_eq!(
            param(json!({"model": "m", "input": "a", "extra": 1})).0,
            "extra"
        );
        assert_eq!(param(json!({"input": "a"})).0, "body");
    }

    #[test]
    fn embedders_are_known_by_the_model_underneath() {
        assert_eq!(
            Embedder::of("amazon.titan-embed-text-v2:0"),
            Some(Embedder::TitanV2)
        );
        assert_eq!(
            Embedder::of("cohere.embed-multilingual-v3"),
            Some(Embedder::CohereV3)
        );
        assert_eq!(
            Embedder::of("us.cohere.embed-v4:0"),
            Some(Embedder::CohereV4)
        );
        assert_eq!(
            Embedder::of("amazon.nova-2-multimodal-embeddings-v1:0"),
            Some(Embedder::NovaMultimodal)
        );
        assert_eq!(Embedder::of("amazon.nova-pro-v1:0"), None);
    }

    #[test]
    fn nova_gets_one_text_per_call_with_its_dimension_and_answers_one_vector() {
        let bodies = batches(Embedder::NovaMultimodal, &texts(2), 384);
        assert_eq!(bodies.len(), 2);
        let second: Value = serde_json::from_slice(&bodies[1]).unwrap();
        assert_eq!(
            second,
            json!({"schemaVersion": "nova-multimodal-embed-v1", "taskType": "SINGLE_EMBEDDING",
                   "singleEmbeddingParams": {"embeddingPurpose": "GENERIC_INDEX", "embeddingDimension": 384,
                                             "text": {"truncationMode": "NONE", "value": "text 1"}}})
        );
        assert_eq!(
            dimensions_for(Embedder::NovaMultimodal, "n", None).unwrap(),
            3072
        );
        assert!(dimensions_for(Embedder::NovaMultimodal, "n", Some(512)).is_err());
        let answer = InvokeResponse {
            body: Bytes::from(
                r#"{"embeddings":[{"embeddingType":"TEXT","embedding":[0.5,-0.5]}]}"#,
            ),
            content_type: "application/json".into(),
        };
        let one = EmbeddingsRequest {
            model: "n".into(),
            texts: texts(1),
            encoding_format: EncodingFormat::Float,
            dimensions: None,
        };
        let (data, tokens) = assemble(Embedder::NovaMultimodal, &one, 2, &[answer]).unwrap();
        assert_eq!(data[0]["embedding"], json!([0.5, -0.5]));
        assert_eq!(tokens, estimate_tokens(&one.texts));
    }

    #[test]
    fn dimensions_are_checked_against_the_model() {
        assert_eq!(dimensions_for(Embedder::TitanV2, "t", None).unwrap(), 1024);
        assert_eq!(
            dimensions_for(Embedder::TitanV2, "t", Some(256)).unwrap(),
            256
        );
        assert!(dimensions_for(Embedder::TitanV2, "t", Some(1536)).is_err());
        assert_eq!(dimensions_for(Embedder::CohereV4, "c", None).unwrap(), 1536);
        assert_eq!(
            dimensions_for(Embedder::CohereV3, "c", Some(1024)).unwrap(),
            1024
        );
        let e = dimensions_for(Embedder::CohereV3, "c", Some(256)).unwrap_err();
        assert!(
            e.to_string().contains("does not support `dimensions`"),
            "{e}"
        );
    }

    #[test]
    fn batches_keep_each_model_within_its_limit_and_in_order() {
        let titan = batches(Embedder::TitanV2, &texts(3), 512);
        assert_eq!(titan.len(), 3);
        let first: Value = serde_json::from_slice(&titan[0]).unwrap();
        assert_eq!(
            first,
            json!({"inputText": "text 0", "dimensions": 512, "normalize": true, "embeddingTypes": ["float"]})
        );
        let cohere = batches(Embedder::CohereV4, &texts(200), 256);
        let sizes: Vec<usize> = cohere
            .iter()
            .map(|b| {
                serde_json::from_slice::<Value>(b).unwrap()["texts"]
                    .as_array()
                    .unwrap()
                    .len()
            })
            .collect();
        assert_eq!(sizes, vec![96, 96, 8]);
        let last: Value = serde_json::from_slice(&cohere[2]).unwrap();
        assert_eq!(last["texts"][0], "text 192");
        assert_eq!(last["output_dimension"], 256);
        let v3: Value =
            serde_json::from_slice(&batches(Embedder::CohereV3, &texts(1), 1024)[0]).unwrap();
        assert!(v3.get("output_dimension").is_none());
    }

    #[test]
    fn answers_are_assembled_in_input_order_with_their_tokens() {
        let request = EmbeddingsRequest {
            model: "c".into(),
            texts: texts(3),
            encoding_format: EncodingFormat::Float,
            dimensions: None,
        };
        let answer = |vectors: Value| InvokeResponse {
            body: Bytes::from(json!({"embeddings": {"float": vectors}}).to_string()),
            content_type: "application/json".into(),
        };
        let (data, tokens) = assemble(
            Embedder::CohereV3,
            &request,
            2,
            &[answer(json!([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]]))],
        )
        .unwrap();
        assert_eq!(data[1]["index"], 1);
        assert_eq!(data[1]["embedding"], json!([1.0, 0.0]));
        assert_eq!(tokens, estimate_tokens(&request.texts));
        let short = assemble(
            Embedder::CohereV3,
            &request,
            2,
            &[answer(json!([[0.0, 1.0]]))],
        );
        assert!(short.is_err());
        let titan = InvokeResponse {
            body: Bytes::from(r#"{"embedding":[0.25,0.5],"inputTextTokenCount":7}"#),
            content_type: "application/json".into(),
        };
        let one = EmbeddingsRequest {
            texts: texts(1),
            ..request
        };
        assert_eq!(assemble(Embedder::TitanV2, &one, 2, &[titan]).unwrap().1, 7);
    }

    #[test]
    fn base64_is_little_endian_f32() {
        let encoded = encode(&[1.0, -2.5], EncodingFormat::Base64);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().unwrap())
            .unwrap();
        assert_eq!(
            bytes,
            [1.0f32.to_le_bytes(), (-2.5f32).to_le_bytes()].concat()
        );
    }
}
